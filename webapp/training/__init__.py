"""Training data, the model registry and their `flask catalog` / `flask ml` commands.

Nothing here imports TensorFlow: commands that train or evaluate import `ml` inside
the command function, so the web process stays light.
"""
