"""`recctl bootstrap`: the orchestration that makes a data folder from nothing.

    config.py         the settings (pydantic): traffic, arms as recommender specs
    dayloop.py        cold start, then days served by the arms, retraining each day;
                      ab_in_process (arms on the same episodes, in-process)
    build.py          bootstrap(): world, logs, artifacts, manifest
    experiment_ab.py  an experiment file's arms A/B-tested in-process, without a stack

It sits above recctl.sim and recctl.train, which know nothing of each other.
"""

from recctl.bootstrap.build import BootstrapResult, bootstrap
from recctl.bootstrap.config import BootstrapConfig, LoopParams, load_bootstrap_config
from recctl.bootstrap.dayloop import ab_in_process
from recctl.bootstrap.experiment_ab import ab_experiment

__all__ = ["BootstrapConfig", "BootstrapResult", "LoopParams", "ab_experiment",
           "ab_in_process", "bootstrap", "load_bootstrap_config"]
