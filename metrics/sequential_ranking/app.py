# The metric's page when pushed as a Hub community metric (the Space `evaluate` creates for each metric).
import evaluate
from evaluate.utils import launch_gradio_widget

module = evaluate.load("sequential_ranking.py")
launch_gradio_widget(module)
