from streetorder.cli import main

raise SystemExit(main())
