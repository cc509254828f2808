"""The Space's own code (it deploys without the mbert-tiny-hub repository): settings, classifiers, model cards,
language detection, batch CSV handling and the optional BERT4Rec recommender. `app.py` is the page."""
