"""The parameters: `params.yaml`'s schema and every check on it (`params`), and the resolved
configurations that the check_params stage writes and the other stages read (`config`)."""
