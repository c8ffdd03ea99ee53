"""stack: runtimes that start, inspect and stop the stack, and fetch the replicas' logs."""
