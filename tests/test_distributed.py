"""Two processes under ``torchrun`` (gloo on the CPU) train like one with the global batch,
with dev evaluation, early stopping and checkpoints on the main process."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.farm_helpers import write_separable_data

SCRIPT = """
import sys
from pathlib import Path

import torch
from safetensors.torch import save_file

from farm.data_handler.data_silo import DataSilo
from farm.distributed import is_main_process, world_size
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextClassificationHead
from farm.train import EarlyStopping, Trainer
from farm.utils import initialize_device_settings, set_all_seeds
from tests.farm_helpers import make_processor

model_dir, data_dir, out, global_batch = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], 16
torch.set_num_threads(1)
device, n_gpu = initialize_device_settings(use_cuda=False)
set_all_seeds(5)
silo = DataSilo(make_processor(model_dir, data_dir, dev_split=0.25),
                batch_size=global_batch // world_size(), distributed=world_size() > 1)
language_model = LanguageModel.load(model_dir, hidden_dropout_prob=0.0,
                                    attention_probs_dropout_prob=0.0)
model = AdaptiveModel(language_model, [TextClassificationHead(num_labels=2)],
                      embeds_dropout_prob=0.0, lm_output_types=["per_sequence"], device=device)
model, optimizer, schedule = initialize_optimizer(
    model=model, n_batches=len(silo.loaders["train"]), n_epochs=2, device=device,
    learning_rate=0.05, distributed=world_size() > 1,
    # SGD: Adam would blow float noise in gradients that are zero in exact arithmetic
    # (attention key biases) up to full-size steps, in both runs differently.
    optimizer_opts={"name": "SGD"},
)
earlystop = EarlyStopping(metric="loss", patience=100, save_dir=out + ".best")
trainer = Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=2, n_gpu=n_gpu,
                  device=device, lr_schedule=schedule, evaluate_every=2, disable_tqdm=True,
                  early_stopping=earlystop, checkpoint_every=3,
                  checkpoint_root_dir=out + ".checkpoints")
trainer.train()
if is_main_process():
    state = {k: v.contiguous() for k, v in trainer.core.state_dict().items()}
    save_file(state, out)
    print("test acc", trainer.test_result[0]["acc"])
"""


def run(command: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_two_process_torchrun_matches_one_process(tiny_bert_dir: Path, tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    data_dir = write_separable_data(tmp_path / "data", n_train=48, n_test=8)
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    args = [str(tiny_bert_dir), str(data_dir)]
    run([sys.executable, str(script), *args, str(tmp_path / "one.safetensors")], tmp_path)
    run([str(torchrun), "--standalone", "--nproc_per_node=2", str(script), *args,
         str(tmp_path / "two.safetensors")], tmp_path)
    one = load_file(str(tmp_path / "one.safetensors"))
    two = load_file(str(tmp_path / "two.safetensors"))
    assert one.keys() == two.keys()
    for name in one:
        assert torch.allclose(one[name], two[name], atol=1e-5), name
    checkpoints = sorted(p.name for p in (tmp_path / "two.safetensors.checkpoints").iterdir())
    assert checkpoints == sorted(p.name for p in (tmp_path / "one.safetensors.checkpoints")
                                 .iterdir())
