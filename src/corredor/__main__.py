"""`python -m corredor …`: the `corredor` command, for an environment whose scripts folder is not
on PATH (the guard keeps worker processes, which re-import this module, from running it again)."""

from .cli import main

if __name__ == "__main__":
    main()
