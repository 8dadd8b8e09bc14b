from piyasa_bot.cli import main

raise SystemExit(main())
