from labelflow.cli import main

raise SystemExit(main())
