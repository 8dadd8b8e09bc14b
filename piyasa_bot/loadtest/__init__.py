"""The reference load test as a command: 50 bots, 100 people, 5 minutes, everything measured."""
