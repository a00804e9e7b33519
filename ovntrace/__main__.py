"""``python -m ovntrace …``: the same as the ``ovntrace`` command."""

from ovntrace.cli import main

if __name__ == "__main__":
    main()
