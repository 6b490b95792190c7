from aggregator.cli import main

if __name__ == "__main__":  # guarded: the parse pool's worker processes import __main__
    main()
