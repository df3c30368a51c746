"""``python -m meshsim``: the same command line as the ``meshsim`` console script."""

from meshsim.cli.entry import main

if __name__ == "__main__":
    main()
