"""``python -m gen_migrate``."""

from gen_migrate.cli import main

if __name__ == "__main__":
    main()
