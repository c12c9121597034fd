from fastmlp.cli import main

raise SystemExit(main())
