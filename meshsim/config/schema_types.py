"""The base of every scenario model, and the field types several parts of the scenario share.

Apart from :mod:`.schema` so that the services, the workload and the expectations
(:mod:`.schema_services`, :mod:`.schema_workload`, :mod:`.schema_expect`) build on the same
``Strict`` base and the same names, replica counts and labels without importing each other.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator

from meshsim.config import limits
from meshsim.config.distributions import LatencySpec, parse_latency
from meshsim.config.fields import problem, sized, sized_within, whole, within

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def describe_text(text: str) -> str:
    return repr(text) if len(text) <= 40 else repr(text[:37] + "...")


def _dns_label(name: str) -> str:
    if len(name) > 63:
        raise problem(
            f"{describe_text(name)} is longer than 63 characters, the most a Kubernetes DNS "
            "label holds (pod names and hosts are built from it)"
        )
    if not _DNS_LABEL.match(name):
        raise problem(
            f"{name!r} is not a valid name: use lowercase letters, digits and '-' "
            "(a Kubernetes DNS label), since pod names and hosts are built from it"
        )
    return name


Name = Annotated[str, AfterValidator(_dns_label)]
Latency = Annotated[LatencySpec, PlainValidator(parse_latency)]
Replicas = Annotated[int, within(limits.REPLICAS, ge=0), whole(limits.REPLICAS)]
Concurrency = Annotated[int, within(limits.CONCURRENCY, ge=1), whole(limits.CONCURRENCY)]
Queue = Annotated[int, within(limits.QUEUE, ge=0), whole(limits.QUEUE)]
Labels = Annotated[dict[str, str], sized_within(limits.ENTRIES), sized(limits.ENTRIES)]


class Strict(BaseModel):
    """Unknown fields are errors (DESIGN §8); parsed documents are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
