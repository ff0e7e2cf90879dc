import sys

try:
    from .cli import main
except KeyboardInterrupt:  # Ctrl-C while the command line is still loading
    print("neurosim: interrupted", file=sys.stderr)
    sys.exit(130)

sys.exit(main())
