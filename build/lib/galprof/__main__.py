from galprof.cli import main

main()
