"""Running a notebook: the sandbox plan and launchers, the warm process, the worker inside, the pipe, the reference in a fork."""
