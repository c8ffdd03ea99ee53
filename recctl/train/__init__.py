"""train: event logs in, artifacts out (top lists, item-to-item lists, DSSM user lists)."""
