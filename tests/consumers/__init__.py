"""Consumer tests: the constructs as another team gets them, from the built wheel in a throwaway venv."""
