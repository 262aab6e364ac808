import sys

from haneul.cli import main

sys.exit(main())
