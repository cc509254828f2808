"""Train one experiment from a YAML config: text classification with the hybrid loss, LoRA, distillation, MLM
pretraining (and BERT4Rec). The same command runs on one CPU, several processes or several GPUs:

    python train.py --config configs/quickstart.yaml
    accelerate launch train.py --config configs/brighter_tiny4_hybrid.yaml
    accelerate launch --cpu --num_processes 2 train.py --config configs/quickstart.yaml --output_dir outputs/qs2

At the end the output folder is a Hub repository (weights, config, model code, tokenizer, train_config.yaml,
training_args.json, results.json, model card); --push_to_hub org/name (or --push_to_hub --hub_model_id org/name)
pushes every checkpoint through the Trainer's Hub integration and then the finished folder, and --resume picks a
killed run up from the repo's last-checkpoint.
"""

from __future__ import annotations

import argparse
import logging
import sys

from mbert_tiny_hub.cli import HelpFormatter, accept_both_spellings

OVERRIDE_HELP = """\
config overrides:
  --set KEY=VALUE (repeatable) sets any config key by its dotted path; VALUE is parsed as YAML:
    --set training.learning_rate=3e-5 --set training.num_train_epochs=5
    --set model.preset=tiny4 --set 'data.languages=[eng, deu]' --set loss.class_weights=inverse
  Sections: task, model, data, loss, early_stopping, lora, distillation, mlm, hub, bert4rec, and training (every
  transformers.TrainingArguments field). Unknown keys are errors. See mbert_tiny_hub/config.py for each key.
"""


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, epilog=OVERRIDE_HELP, formatter_class=HelpFormatter
    )
    parser.add_argument("--config", required=True, help="experiment YAML, e.g. configs/quickstart.yaml")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key (see below)",
    )
    parser.add_argument(
        "--output_dir", help="where the run writes (if unset: training.output_dir, else outputs/<config name>)"
    )
    parser.add_argument(
        "--resume",
        nargs="?",
        const=True,
        default=False,
        metavar="CHECKPOINT",
        help="continue a stopped run from its last checkpoint (or from CHECKPOINT); with no local checkpoint and a "
        "Hub repo to push to, from that repo's last-checkpoint",
    )
    parser.add_argument(
        "--overwrite_output_dir", action="store_true", help="delete what the output folder holds and start over"
    )
    parser.add_argument(
        "--push_to_hub",
        nargs="?",
        const=True,
        metavar="ORG/NAME",
        help="push every checkpoint (the Trainer's Hub integration) and the finished output folder to this Hub repo "
        "(or to --hub_model_id)",
    )
    parser.add_argument("--hub_model_id", metavar="ORG/NAME", help="the Hub repo --push_to_hub pushes to")
    parser.add_argument(
        "--hub_strategy",
        choices=("every_save", "checkpoint", "all_checkpoints", "end"),
        help="which checkpoints the Trainer pushes (if unset: training.hub_strategy, else end: the finished folder "
        "once); checkpoint also keeps last-checkpoint on the Hub to resume from",
    )
    parser.add_argument(
        "--private", "--hub_private_repo", dest="private", action="store_true", default=None,
        help="create the Hub repo as private",
    )
    parser.add_argument("--revision", help="push to this branch of the Hub repo (created if missing)")
    return accept_both_spellings(parser).parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # heavy (torch, transformers): imported once the arguments parsed, so --help answers at once
    from mbert_tiny_hub.config import ConfigError, load_config
    from mbert_tiny_hub.hub import PublishError
    from mbert_tiny_hub.training import RunOptions, distributed_state, run_experiment

    try:
        config = load_config(args.config, args.overrides)
        # accelerate knows which process is the main one under every launcher (RANK is not set under all of them).
        logging.basicConfig(
            level=logging.INFO if distributed_state(config).is_main_process else logging.WARNING,
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
            datefmt="%H:%M:%S",
        )
        run_experiment(
            config,
            RunOptions(
                output_dir=args.output_dir,
                resume=args.resume,
                push_to_hub=args.push_to_hub,
                hub_model_id=args.hub_model_id,
                hub_strategy=args.hub_strategy,
                private=args.private,
                revision=args.revision,
                overwrite_output_dir=args.overwrite_output_dir,
            ),
        )
    except ConfigError as error:
        print(f"train.py: error: {error}", file=sys.stderr)
        return 2
    except PublishError as error:  # the run finished and its folder is complete; only the push failed
        print(f"train.py: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
