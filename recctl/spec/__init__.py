"""The experiment file: one YAML file says everything about one experiment.

`load_experiment(path)` reads it safely (`recctl.settings.read_yaml`: no Python tags, a
key given twice refused), validates it with pydantic (unknown keys are errors), resolves
relative paths against the file's folder and checks the recommenders and the artifacts
they need, before anything starts. Every problem is raised as one RecctlError naming the
file, the key and the fix.

One concept a module: `arms` (a recommender spec and the arm check), `stack` (where the
stack runs), `report` (the report block), `experiment` (the whole file's model) and
`load` (reading, path resolution, the config hash). Everything public is named here.
"""

from recctl.spec.arms import RecommenderSpec, arm_problems
from recctl.spec.experiment import Experiment, SimulationSpec, default_pre_period
from recctl.spec.load import (
    LoadedExperiment,
    check_recommenders,
    load_experiment,
    parse_experiment,
)
from recctl.spec.report import OUTPUTS, OutputName, ReportSpec
from recctl.spec.stack import (
    HOST_LABEL,
    NAME_RULE,
    RAY_ADDRESS,
    DockerImages,
    RaySpec,
    StackSpec,
    check_host,
)

__all__ = [
    "HOST_LABEL", "NAME_RULE", "OUTPUTS", "RAY_ADDRESS", "DockerImages", "Experiment",
    "LoadedExperiment", "OutputName", "RaySpec", "RecommenderSpec", "ReportSpec",
    "SimulationSpec", "StackSpec", "arm_problems", "check_host", "check_recommenders",
    "default_pre_period", "load_experiment", "parse_experiment",
]
