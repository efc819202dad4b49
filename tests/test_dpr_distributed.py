"""DPR under ``torchrun`` (two processes, gloo on the CPU): the vectors of both processes
are gathered, so each query's loss is the one-process loss over the global batch, and
training ends with the weights of one process that sees the global batches."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from tests.dpr_helpers import dpr_records, write_dpr_file

SCRIPT = """
import json
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from safetensors.torch import save_file

from farm.data_handler.data_silo import DataSilo
from farm.data_handler.processor import TextSimilarityProcessor
from farm.distributed import is_main_process, world_size
from farm.modeling.adaptive_model import BiAdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import TextSimilarityHead
from farm.modeling.tokenization import Tokenizer
from farm.train import Trainer
from farm.utils import initialize_device_settings, set_all_seeds

model_dir, data_dir, out, global_batch = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3], 8
torch.set_num_threads(1)
device, n_gpu = initialize_device_settings(use_cuda=False)
set_all_seeds(5)
tokenizer = Tokenizer.load(model_dir)
processor = TextSimilarityProcessor(
    query_tokenizer=tokenizer, passage_tokenizer=tokenizer, max_seq_len_query=16,
    max_seq_len_passage=32, data_dir=data_dir, train_filename="train.json",
    dev_filename=None, dev_split=0.0, test_filename="test.json", num_hard_negatives=1)
silo = DataSilo(processor, batch_size=global_batch // world_size(),
                distributed=world_size() > 1)
no_dropout = {"hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0}
model = BiAdaptiveModel(LanguageModel.load(model_dir, **no_dropout),
                        LanguageModel.load(model_dir, **no_dropout), [TextSimilarityHead()],
                        embeds_dropout_prob=0.0, device=device, pooling="reduce_mean")
model, optimizer, schedule = initialize_optimizer(
    model=model, n_batches=len(silo.loaders["train"]), n_epochs=2, device=device,
    learning_rate=0.05, distributed=world_size() > 1, optimizer_opts={"name": "SGD"})
core = getattr(model, "module", model)
core.connect_heads_with_processor(processor.tasks)

# The per-query losses of the first batch of every process, in rank order.
batch = next(iter(silo.loaders["train"]))
with torch.no_grad():
    losses = core.logits_to_loss(model(**batch), **batch).tolist()
if world_size() > 1:
    parts = [None] * world_size()
    dist.all_gather_object(parts, losses)
    losses = [x for part in parts for x in part]

trainer = Trainer(model=model, optimizer=optimizer, data_silo=silo, epochs=2, n_gpu=n_gpu,
                  device=device, lr_schedule=schedule, evaluate_every=0, disable_tqdm=True)
trainer.train()
if is_main_process():
    save_file({k: v.contiguous() for k, v in trainer.core.state_dict().items()}, out)
    Path(out + ".json").write_text(json.dumps({"first_batch_losses": losses,
                                               "steps": trainer.global_step}))
"""


def run(command: list[str], cwd: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
           "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]


@pytest.mark.slow
def test_two_processes_gather_vectors_and_train_like_one(tiny_bert_dir: Path,
                                                         tmp_path: Path) -> None:
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip("torchrun is not installed next to this Python")
    data_dir = tmp_path / "data"
    # 21 records: the last global batch of 5 splits 3 + 2, so the processes gather
    # different numbers of vectors.
    write_dpr_file(data_dir / "train.json", dpr_records(21, seed=1))
    write_dpr_file(data_dir / "test.json", dpr_records(4, seed=2))
    script = tmp_path / "train.py"
    script.write_text(textwrap.dedent(SCRIPT))
    args = [str(tiny_bert_dir), str(data_dir)]
    run([sys.executable, str(script), *args, str(tmp_path / "one.safetensors")], tmp_path)
    run([str(torchrun), "--standalone", "--nproc_per_node=2", str(script), *args,
         str(tmp_path / "two.safetensors")], tmp_path)
    one_info = json.loads((tmp_path / "one.safetensors.json").read_text())
    two_info = json.loads((tmp_path / "two.safetensors.json").read_text())
    # The first batch (of a seeded shuffle) is the short one: 3 + 2 queries. Without
    # gathering, each process would score its queries against its own passages only.
    assert len(two_info["first_batch_losses"]) == len(one_info["first_batch_losses"]) == 5
    torch.testing.assert_close(torch.tensor(two_info["first_batch_losses"]),
                               torch.tensor(one_info["first_batch_losses"]),
                               rtol=0, atol=1e-5)
    assert two_info["steps"] == one_info["steps"] == 6
    one = load_file(str(tmp_path / "one.safetensors"))
    two = load_file(str(tmp_path / "two.safetensors"))
    assert one.keys() == two.keys()
    moved = 0
    for name in one:
        assert torch.allclose(one[name], two[name], atol=1e-5), name
        moved += int(name.startswith("language_model2."))
    assert moved > 0
