"""One self-contained HTML report per run (``meshsim report RUN``, ``meshsim run --html``): the
service graph with Kiali's conventions, RED series with the fault windows shaded, the ejection
timeline, the canary strip, the golden metrics, the SLO verdicts and the analyze findings.

:mod:`.data` gathers a run (stored or in memory); :mod:`.graph` and :mod:`.graph_svg` the
service graph; :mod:`.series` the RED charts; :mod:`.timelines` ejections and canary;
:mod:`.tables` the tables and verdicts; :mod:`.page` the HTML around them.
"""

from meshsim.results.report.data import (
    Findings,
    ReportData,
    ReportFinding,
    from_results,
    from_stored,
)
from meshsim.results.report.page import render

__all__ = ["Findings", "ReportData", "ReportFinding", "from_results", "from_stored", "render"]
