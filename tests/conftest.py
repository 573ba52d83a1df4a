import os

# Charts render off-screen in every test, whatever the machine's display.
os.environ.setdefault("MPLBACKEND", "Agg")
