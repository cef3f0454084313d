"""The range track's reference program (solution.py): a NumPy first draft of the GPT
trainer. An agent's workspace on that track starts as a copy of this directory."""
