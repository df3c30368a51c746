"""The report page: one HTML file with inline CSS, SVG and a small script, its data embedded as
JSON. Nothing is fetched (no CDN, font or image), so it opens offline from a ticket.

The script only reads the embedded JSON: hover readouts on the RED charts. The page's content
security policy (``default-src 'none'``) forbids any fetch; a script error, a
``console.error`` or a blocked fetch is written into the page (``#js-errors``), and when the
script has run it marks the document ``data-rendered="ok"`` (or ``errors``), which the browser
test reads.
"""

from __future__ import annotations

import json
from typing import Any

from meshsim.results.report.data import ReportData
from meshsim.results.report.graph import build_graph
from meshsim.results.report.graph_svg import graph_svg, lock
from meshsim.results.report.series import red_section
from meshsim.results.report.svg import esc
from meshsim.results.report.tables import (
    findings_html,
    golden_html,
    header_list,
    notes_html,
    slo_html,
    verdicts_html,
    workloads_html,
)
from meshsim.results.report.timelines import canary_svg, ejection_svg, ejections
from meshsim.results.store import jsonable

CSS = """
:root{--fg:#151515;--muted:#6a6e73;--line:#d2d2d2}
body{font:14px/1.4 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--fg);
margin:24px auto;max-width:1140px;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:1px solid var(--line);
padding-bottom:4px;margin-top:28px}h3{font-size:15px;margin:12px 0 4px}
.description{color:var(--muted);margin:0 0 12px}
#run-header{display:flex;flex-wrap:wrap;gap:6px 22px;margin:0}#run-header dt{color:var(--muted);
font-size:12px}#run-header dd{margin:0;font-weight:600}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;margin:6px 0}
th,td{padding:3px 10px;border-bottom:1px solid #eee;white-space:nowrap}th{font-size:12px}
.l{text-align:left}.r{text-align:right}
ul{padding-left:18px}#slo,#verdicts,#findings{list-style:none;padding:0}
.slo .mark{font-weight:700}.slo.pass .mark{color:#3e8635}.slo.fail .mark{color:#c9190b}
.slo.cannot-tell .mark{color:#b98412}
.finding.error{color:#c9190b}.finding.warning{color:#8f4700}.finding{font-family:ui-monospace,
monospace;font-size:13px;margin:2px 0}
.graph-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:4px;padding:4px}
.node-name{font-size:12px}.glyph{font-size:12px;font-weight:700;fill:var(--muted)}
.edge-label{font-size:11px;fill:#151515;paint-order:stroke;stroke:#fff;stroke-width:3px}
.legend-row span{margin-right:14px;font-size:12px}
.service-series{display:flex;flex-wrap:wrap;align-items:flex-start;gap:4px}
.service-series h3{flex-basis:100%}
.panel{margin:0}.legend{font-size:11px}.legend span{margin-right:8px}
.readout{color:var(--muted);margin-left:6px}
.grid{stroke:#eee}.tick{font-size:10px;fill:var(--muted)}.chart-title{font-size:11px;
font-weight:600}.warmup{fill:#f0f0f0}.fault{fill:#c9190b;fill-opacity:.13}
.cursor{stroke:#999;stroke-dasharray:2 2;visibility:hidden}
.ejected{fill:#c9190b;fill-opacity:.35}.row-label{font-size:11px}
.check-pass{fill:#3e8635}.check-fail{fill:#c9190b}.phase{stroke:#6a6e73;stroke-dasharray:3 3}
.phase-label{font-size:10px;fill:var(--muted)}
.note,.none{color:var(--muted)}#js-errors{color:#c9190b;font-family:monospace}
footer{margin-top:32px;color:var(--muted);font-size:12px}
"""

# Installed first, so an error anywhere later on the page is written into it.
HOOK = """
window.__reportErrors=[];
function __reportError(m){window.__reportErrors.push(String(m));
var e=document.getElementById('js-errors');if(e){e.textContent=window.__reportErrors.join('\\n');}}
window.onerror=function(m,s,l){__reportError(m+' at '+s+':'+l);};
document.addEventListener('securitypolicyviolation',function(e){
__reportError('blocked by the page policy (nothing is fetched): '+e.blockedURI);});
(function(){var c=console.error;console.error=function(){__reportError(
Array.prototype.join.call(arguments,' '));return c.apply(console,arguments);};})();
"""

SCRIPT = """
(function(){
var data=JSON.parse(document.getElementById('report-data').textContent);
var series=data.series||{};
function fmt(v){return v===null||v===undefined?'-':(Math.abs(v)>=100?v.toFixed(0):v.toFixed(2));}
document.querySelectorAll('svg.chart').forEach(function(svg){
  var s=series[svg.dataset.service];if(!s){return;}
  var lines=s[svg.dataset.metric]||{};var x0=+svg.dataset.x0,x1=+svg.dataset.x1,
  h=+svg.dataset.horizon;var out=svg.parentNode.querySelector('.readout');
  var cursor=svg.querySelector('.cursor');var vb=svg.viewBox.baseVal;
  svg.addEventListener('mousemove',function(ev){
    var r=svg.getBoundingClientRect();var x=(ev.clientX-r.left)*vb.width/r.width;
    var t=(x-x0)/(x1-x0)*h;var i=0;
    while(i+1<s.time.length&&s.time[i+1]<=t){i++;}
    cursor.setAttribute('x1',x);cursor.setAttribute('x2',x);
    cursor.style.visibility='visible';
    out.textContent='t='+s.time[i]+'s: '+Object.keys(lines).map(function(k){
      return k+' '+fmt(lines[k][i]);}).join(', ');
  });
  svg.addEventListener('mouseleave',function(){cursor.style.visibility='hidden';
    out.textContent='';});
});
document.documentElement.setAttribute('data-rendered',
  window.__reportErrors.length?'errors':'ok');
})();
"""


def embedded_json(payload: dict[str, Any]) -> str:
    """JSON safe inside ``<script>``: no ``</`` can close the element."""
    text = json.dumps(jsonable(payload), allow_nan=False, ensure_ascii=False,
                      separators=(",", ":"))
    return text.replace("</", "<\\/").replace("<!--", "<\\!--")


def _legend() -> str:
    from meshsim.results.report.svg import COLOURS

    names = {"healthy": "healthy", "degraded": "degraded: 5xx > 0 % or 4xx ≥ 10 %",
             "failure": "failure: 5xx ≥ 10 % or 4xx ≥ 20 %", "idle": "no traffic"}
    return '<p class="legend-row">' + "".join(
        f'<span style="color:{COLOURS[k]}">■ {esc(v)}</span>' for k, v in names.items()
    ) + (f"<span><svg width='12' height='12' viewBox='0 -4 12 12'>{lock(1.0, 3.0)}</svg> "
         "mTLS</span><span>- - - mirrored copies</span></p>")


def render(data: ReportData) -> str:
    """The whole page for ``data``."""
    header = data.header
    graph = build_graph(data.info, data.summary, data.edges)
    horizon = data.horizon
    red_html, red_data = red_section(data.timeseries, data.p95, horizon=horizon,
                                     warmup=data.warmup, faults=data.faults)
    found = ejections(data.events, horizon)
    rollouts = sorted(set(data.decisions["rollout"].astype(str))) if len(data.decisions) else []
    canary = ("".join(canary_svg(data.decisions, r, horizon) for r in rollouts)
              if rollouts else "")
    payload = {
        "header": header, "summary": data.summary.to_dict("records"),
        "workloads": data.workloads.to_dict("records"), "slo": data.slo.to_dict("records"),
        "edges": [] if data.edges is None else data.edges.to_dict("records"),
        "series": red_data,
        "findings": [f.__dict__ for f in data.findings.items],
        "faults": [f.__dict__ for f in data.faults],
        "ejections": [e.__dict__ for e in found], "notes": data.notes,
    }
    name = esc(header["scenario"])
    sections = [
        f"<header><h1>meshsim report: {name}</h1>",
        f'<p class="description">{esc(header["description"])}</p>' if header["description"]
        else "", header_list(header), "</header>",
        '<pre id="js-errors"></pre>',
        "<section id='graph'><h2>Service graph</h2>"
        "<p class='note'>After warm-up. Colours: Kiali's default request-health thresholds. "
        "Edge labels: request rate, error share, p95.</p>",
        _legend(), f'<div class="graph-wrap">{graph_svg(graph)}</div></section>',
        "<section id='golden-metrics'><h2>Golden metrics (after warm-up)</h2>",
        golden_html(data.summary), workloads_html(data.workloads), "</section>",
        "<section id='slos'><h2>SLOs</h2>", slo_html(data.slo),
        verdicts_html(data.recovery, data.rollout), "</section>",
        "<section id='red'><h2>Rate, errors, duration</h2><p class='note'>Per second; grey: "
        "warm-up; red: fault windows (hover for what the fault was).</p>", red_html,
        "</section>",
        "<section id='ejection-timeline'><h2>Outlier ejections</h2>", ejection_svg(found, horizon),
        "</section>",
    ]
    if canary:
        sections += ["<section id='canary'><h2>Canary</h2>", canary, "</section>"]
    sections += [
        "<section id='analyze'><h2>Analyze findings</h2>", findings_html(data.findings),
        "</section>", notes_html(data.notes),
        f"<footer>meshsim {esc(header['meshsim_version'])} ({esc(header['build'])} build). "
        "One self-contained file: nothing is loaded from the network.</footer>",
    ]
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:\">"
        f"<title>meshsim report: {name}</title><style>{CSS}</style>"
        f"<script>{HOOK}</script></head><body>"
        + "".join(sections)
        + f'<script type="application/json" id="report-data">{embedded_json(payload)}</script>'
        + f"<script>{SCRIPT}</script></body></html>\n"
    )
