"""The toolkit behind train.py, evaluate.py and publishing: configs, metrics, training and evaluation
runners, model cards and Hub publishing. Models live in `modeling/`, dataset builders in `data_scripts/`."""
