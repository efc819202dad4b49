"""Question answering end to end on a tiny model: the tutorial's calls, training with early
stopping on dev F1, QAInferencer results whose offsets slice the context, long documents,
save/load, calibration on dev, caching and cross-validation folds."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import torch
import torch.nn.functional as F

from farm.data_handler.cross_validation import DataSiloForCrossVal
from farm.data_handler.data_silo import DataSilo
from farm.data_handler.inputs import QAInput, Question
from farm.data_handler.processor import SquadProcessor
from farm.eval import Evaluator
from farm.evaluation.squad_metrics import squad
from farm.infer import Inferencer, QAInferencer
from farm.modeling.adaptive_model import AdaptiveModel
from farm.modeling.language_model import LanguageModel
from farm.modeling.optimization import initialize_optimizer
from farm.modeling.prediction_head import QuestionAnsweringHead
from farm.modeling.prediction_heads.qa_spans import masked_logits
from farm.modeling.tokenization import Tokenizer
from farm.qa_features import CONTEXT_OFFSETS
from farm.train import EarlyStopping, Trainer
from farm.utils import initialize_device_settings, set_all_seeds
from tests.farm_helpers import make_trainer, model_state, same_weights
from tests.qa_helpers import (
    QUESTION,
    distractor,
    key_sentence,
    make_qa_model,
    make_qa_processor,
    squad_articles,
    write_qa_data,
    write_squad,
)
from tests.test_resume import interrupt_at
from tests.tiny_models import ARCHITECTURES, CORPUS, TinyModelFactory

LABELS = "question_answering_label_ids"


@pytest.fixture(scope="module")
def trained(tiny_bert_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A tiny BERT trained on documents that become several 64-token passages, so it also
    learns to say "no answer" for passages without the answer; the best model saved."""
    set_all_seeds(0)
    root = tmp_path_factory.mktemp("qa")
    data_dir = write_qa_data(root / "data")
    data_silo = DataSilo(make_qa_processor(tiny_bert_dir, data_dir), batch_size=16,
                         eval_batch_size=32)
    earlystop = EarlyStopping(metric="f1", mode="max", save_dir=root / "best", patience=20)
    trainer = make_trainer(make_qa_model(tiny_bert_dir), data_silo, epochs=6,
                           learning_rate=3e-3, early_stopping=earlystop, evaluate_every=20)
    model = trainer.train()
    return {"dir": root / "best", "trainer": trainer, "model": model, "silo": data_silo,
            "earlystop": earlystop, "data_dir": data_dir}


def document(rng: random.Random, n_fillers: int, word: str | None) -> str:
    sentences = rng.sample(CORPUS, n_fillers)
    if word:
        sentences.insert(rng.randint(0, n_fillers), key_sentence(word))
    return " ".join(sentences)


def all_answers(result: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [a for r in result for p in r["predictions"] for a in p["answers"]]


def test_training_reaches_a_good_test_score(trained: dict[str, Any]) -> None:
    test = trained["trainer"].test_result[0]
    assert test["task_name"] == "question_answering"
    assert test["total"] == 48 and test["HasAns_total"] + test["NoAns_total"] == 48
    assert len(trained["silo"].data["test"]) > 60  # passages, joined per question
    assert test["f1"] > 0.75 and test["EM"] > 0.75
    assert trained["earlystop"].best_so_far > 0.7
    assert {"HasAns_EM", "NoAns_f1", "top_n_accuracy", "loss"} <= set(test)
    assert "has-answer" in test["report"]


def test_the_tutorials_calls(tiny_bert_dir: Path, tmp_path: Path) -> None:
    """The QA part of the seed tutorial, unchanged apart from model, paths and the tiny
    model's learning rate and epochs."""
    set_all_seeds(0)
    data_dir = write_qa_data(tmp_path / "data", fillers=(1, 4))
    device, n_gpu = initialize_device_settings(use_cuda=True)
    tokenizer = Tokenizer.load(pretrained_model_name_or_path=tiny_bert_dir, do_lower_case=True)
    processor = SquadProcessor(
        tokenizer=tokenizer, max_seq_len=256, data_dir=str(data_dir),
        label_list=["start_token", "end_token"], metric="squad", train_filename="train.json",
        dev_filename="dev.json", test_filename="test.json", dev_split=0, doc_stride=128,
        max_query_length=64, max_answers=1,
    )
    data_silo = DataSilo(processor=processor, batch_size=16, eval_batch_size=32, caching=False)
    language_model = LanguageModel.load(tiny_bert_dir, language="english")
    prediction_head = QuestionAnsweringHead(layer_dims=[768, 2], task_name="question_answering")
    model = AdaptiveModel(language_model=language_model, prediction_heads=[prediction_head],
                          embeds_dropout_prob=0.1, lm_output_types=["per_token"], device=device)
    task_name = "question_answering"
    n_epochs = 8
    checkpoint_path = tmp_path / "ckpt"
    model, optimizer, lr_schedule = initialize_optimizer(
        model=model, device=device, learning_rate=3e-3,
        n_batches=len(data_silo.loaders["train"]), n_epochs=n_epochs,
    )
    earlymetric = "f1" if task_name == "question_answering" else "acc"
    mode = "max" if task_name in ["text_classification", "question_answering"] else "min"
    earlystop = EarlyStopping(save_dir=checkpoint_path, metric=earlymetric, mode=mode,
                              patience=3)
    trainer = Trainer(
        model=model, optimizer=optimizer, lr_schedule=lr_schedule, data_silo=data_silo,
        early_stopping=earlystop, evaluate_every=20, checkpoints_to_keep=3,
        checkpoint_root_dir=checkpoint_path, checkpoint_every=200, epochs=n_epochs,
        n_gpu=n_gpu, device=device, disable_tqdm=True,
    )
    model = trainer.train()
    untrained = Evaluator(data_silo.get_data_loader("test"), processor.tasks, "cpu").eval(
        make_qa_model(tiny_bert_dir))
    assert trainer.test_result[0]["f1"] > untrained[0]["f1"] + 0.3

    infer_model = QAInferencer.load(checkpoint_path, extraction_strategy="per_token",
                                    batch_size=2, max_seq_len=512, doc_stride=128,
                                    task_type="question_answering")
    rng = random.Random(7)
    words = ["mupo", "vosh", "plimt"]
    texts = [document(rng, 3, w) for w in words]
    qa_texts = [{"questions": [QUESTION, "who answers?"], "text": t} for t in texts]
    qa_texts.append({"questions": [QUESTION], "text": ""})
    result = infer_model.inference_from_dicts(dicts=qa_texts)
    assert len(result) == 7  # one result per question
    right = 0
    for i, word in enumerate(words):
        prediction = result[2 * i]["predictions"][0]
        answer = prediction["answers"][0]
        start = result[2 * i]["predictions"][0]["answers"][0]["offset_answer_start"]
        end = answer["offset_answer_end"]
        assert texts[i][start:end] == answer["answer"]
        right += answer["answer"] == word
        assert prediction["question"] == QUESTION and prediction["id"] == f"{i}-0"
        assert answer["context"] == texts[i][answer["offset_context_start"]:
                                             answer["offset_context_end"]]
        assert answer["answer"] in answer["context"] and 0 < answer["probability"] <= 1
        assert prediction["ground_truth"] is None
    assert right >= 2
    assert result[0]["task"] == "qa"
    empty = result[6]["predictions"][0]
    assert empty["answers"][0]["answer"] == "" and empty["no_ans_gap"] is None
    assert (empty["answers"][0]["offset_answer_start"],
            empty["answers"][0]["offset_answer_end"]) == (0, 0)
    for r, item in zip(result, [d for d in qa_texts for _ in d["questions"]], strict=True):
        for answer in r["predictions"][0]["answers"]:
            assert item["text"][answer["offset_answer_start"]:answer["offset_answer_end"]] == (
                answer["answer"])


def test_long_documents_are_answered_anywhere(trained: dict[str, Any]) -> None:
    """50,000 characters of text, the key sentence at the start, middle or end."""
    rng = random.Random(11)
    filler: list[str] = []
    while sum(len(s) + 1 for s in filler) < 50_000:  # with a distractor now and then
        filler.append(rng.choice(CORPUS) if rng.random() > 0.05 else distractor("gribba"))
    places = [1, len(filler) // 2, len(filler) - 1]
    inferencer = Inferencer.load(trained["dir"], task_type="question_answering",
                                 batch_size=32, max_seq_len=64, doc_stride=16)
    dicts = []
    for place, word in zip(places, ["blorf", "quax", "zindle"], strict=True):
        sentences = filler[:place] + [key_sentence(word)] + filler[place:]
        dicts.append({"qas": [{"question": QUESTION, "id": word}],
                      "context": " ".join(sentences)})
    assert all(len(d["context"]) >= 50_000 for d in dicts)
    result = inferencer.inference_from_dicts(dicts)
    for item, r in zip(dicts, result, strict=True):
        answer = r["predictions"][0]["answers"][0]
        assert answer["answer"] == r["predictions"][0]["id"]
        start = item["context"].index(key_sentence(answer["answer"])) + len("the answer is ")
        assert (answer["offset_answer_start"], answer["offset_answer_end"]) == (
            start, start + len(answer["answer"]))


def test_long_document_labels(tiny_bert_dir: Path) -> None:
    """Answers spread over a 50,000-character document get their labels in exactly the
    passages that contain them."""
    rng = random.Random(5)
    sentences = [rng.choice(CORPUS) for _ in range(1100)]
    context = " ".join(sentences)
    assert len(context) > 50_000
    targets = [sentences[i] for i in (0, 500, 1099)]
    qas = [{"question": "which?", "id": str(i), "answers": [
        {"text": t, "answer_start": context.index(t)}]} for i, t in enumerate(targets)]
    proc = make_qa_processor(tiny_bert_dir, None, max_seq_len=128, doc_stride=64)
    dataset, _, _, baskets = proc.dataset_from_dicts([{"context": context, "qas": qas}],
                                                     return_baskets=True)
    row = 0
    for target, basket in zip(targets, baskets, strict=True):
        assert len(basket.samples) > 200
        found = []
        for _ in basket.samples:
            s, e = dataset[row][LABELS][:2]
            if s > 0:
                offsets = dataset[row][CONTEXT_OFFSETS].reshape(-1, 2)
                found.append(context[offsets[s][0]:offsets[e][1]])
            row += 1
        assert found and set(found) == {target}


def test_saved_and_loaded_model_predict_the_same(trained: dict[str, Any]) -> None:
    processor = SquadProcessor.load_from_dir(trained["dir"])
    assert isinstance(processor, SquadProcessor) and processor.max_answers == 1
    in_memory = Inferencer(AdaptiveModel.load(trained["dir"]), processor, batch_size=4)
    loaded = Inferencer.load(trained["dir"], task_type="question_answering", max_seq_len=64,
                             doc_stride=16)
    inputs = [QAInput(doc_text=document(random.Random(3), 4, "trelk"),
                      questions=[Question(QUESTION, uid="q")], doc_id="d")]
    assert loaded.inference_from_dicts(inputs) == in_memory.inference_from_dicts(inputs)
    objects = QAInferencer.load(trained["dir"], max_seq_len=64, doc_stride=16
                                ).inference_from_objects(inputs)
    answer = objects[0]["predictions"][0]["answers"][0]
    assert answer["answer"] == "trelk" and answer["document_id"] == "d"


def test_calibration_on_dev_lowers_the_nll(trained: dict[str, Any]) -> None:
    model = AdaptiveModel.load(trained["dir"]).eval()
    head = model.heads[0]
    assert isinstance(head, QuestionAnsweringHead) and head.temperature_for_confidence == 1.0
    silo = trained["silo"]
    loader = silo.get_data_loader("dev")

    def dev_nll(temperature: float) -> float:
        losses = []
        with torch.inference_mode():
            for batch in loader:
                logits = masked_logits(model(**batch)[0], batch[CONTEXT_OFFSETS].view(
                    len(batch[LABELS]), -1, 2)) / temperature
                labels = batch[LABELS][:, :2]
                losses += [(F.cross_entropy(logits[..., 0], labels[:, 0], reduction="none")
                            + F.cross_entropy(logits[..., 1], labels[:, 1], reduction="none"))
                           / 2]
        return float(torch.cat(losses).mean())

    result = Evaluator(loader, silo.processor.tasks, "cpu").eval(model, calibrate_conf_scores=True)
    assert head.temperature_for_confidence != 1.0
    assert dev_nll(head.temperature_for_confidence) < dev_nll(1.0)
    assert result[0]["f1"] == pytest.approx(
        Evaluator(loader, silo.processor.tasks, "cpu").eval(model)[0]["f1"])


def test_passages_are_joined_per_question_in_evaluation(trained: dict[str, Any],
                                                        tmp_path: Path) -> None:
    """Shorter strides: more passages, the metric still counts questions, EM as good."""
    proc = make_qa_processor(Path(trained["silo"].processor.tokenizer.name_or_path),
                             trained["data_dir"], doc_stride=8)
    silo = DataSilo(proc, batch_size=16, caching=True, cache_path=tmp_path / "cache")
    assert len(silo.data["test"]) > 1.5 * len(trained["silo"].data["test"])
    result = Evaluator(silo.get_data_loader("test"), proc.tasks, "cpu").eval(trained["model"])
    assert result[0]["total"] == 48
    assert result[0]["EM"] > trained["trainer"].test_result[0]["EM"] - 0.1
    cached = DataSilo(proc, batch_size=16, caching=True, cache_path=tmp_path / "cache")
    assert cached.data["test"].references == silo.data["test"].references
    assert Evaluator(cached.get_data_loader("test"), proc.tasks, "cpu").eval(
        trained["model"])[0]["EM"] == result[0]["EM"]


def test_cross_validation_keeps_a_document_in_one_fold(trained: dict[str, Any],
                                                       tmp_path: Path) -> None:
    data = squad_articles(30, seed=9, fillers=(4, 8))
    write_squad(tmp_path / "train.json", data)
    proc = make_qa_processor(Path(trained["silo"].processor.tokenizer.name_or_path), tmp_path,
                             dev_filename=None,
                             test_filename=None)
    silo = DataSilo(proc, batch_size=8)
    groups = silo.data["train"].groups
    assert len(groups) > 45 and len(set(groups.tolist())) == 30
    folds = DataSiloForCrossVal.make(silo, sets=["train"], n_splits=3)
    for fold in folds:
        test, train = fold.data["test"].groups, fold.data["train"].groups
        assert not set(test.tolist()) & set(train.tolist())
        assert sorted(test.tolist()) == sorted(g for g in groups.tolist() if g in set(test))
        result = Evaluator(fold.get_data_loader("test"), proc.tasks, "cpu").eval(
            trained["model"])
        assert result[0]["total"] == len(set(test.tolist()))


@pytest.mark.parametrize("arch", ARCHITECTURES)
def test_hugging_face_folder_with_task_type(arch: str, tiny_model_factory: TinyModelFactory
                                            ) -> None:
    """An untrained span head on each architecture: answers are random, offsets exact."""
    inferencer = Inferencer.load(tiny_model_factory(arch), task_type="question_answering",
                                 max_seq_len=96, doc_stride=8)
    text = "Zoë  lives\tin  São Paulo.\u00a0Ça va? Naïve café owners in 東京 sell crème brûlée…"
    result = inferencer.inference_from_dicts(
        [{"questions": ["who?", "where?"], "text": text},
         {"context": text, "qas": [{"question": "what?", "id": "x", "answers": []}]}])
    assert len(result) == 3 and result[2]["predictions"][0]["ground_truth"] == []
    answers = all_answers(result)
    assert len(answers) == 15  # n_best=5 per question
    for answer in answers:
        assert text[answer["offset_answer_start"]:answer["offset_answer_end"]] == answer[
            "answer"]
        assert text[answer["offset_context_start"]:answer["offset_context_end"]] == answer[
            "context"]
    with pytest.raises(ValueError, match="extraction_strategy for question answering"):
        Inferencer.load(tiny_model_factory(arch), task_type="question_answering",
                        extraction_strategy="cls_token")


def test_interrupted_training_resumes_exactly(tiny_bert_dir: Path, tmp_path: Path) -> None:
    data_dir = write_qa_data(tmp_path / "data", n_train=48, n_dev=8, n_test=8, fillers=(1, 3))

    def build(root: Path) -> Trainer:
        set_all_seeds(3)
        silo = DataSilo(make_qa_processor(tiny_bert_dir, data_dir), batch_size=8)
        model, optimizer, schedule = initialize_optimizer(
            model=make_qa_model(tiny_bert_dir), n_batches=len(silo.loaders["train"]),
            n_epochs=2, device="cpu", learning_rate=2e-3)
        return Trainer.create_or_load_checkpoint(
            data_silo=silo, checkpoint_root_dir=root, model=model, optimizer=optimizer,
            lr_schedule=schedule, epochs=2, n_gpu=0, device="cpu", disable_tqdm=True,
            evaluate_every=4, checkpoint_on_sigterm=True, checkpoints_to_keep=0)

    full = build(tmp_path / "full")
    full.train()
    interrupted = build(tmp_path / "run")
    interrupt_at(interrupted, 7)
    with pytest.raises(SystemExit, match="SIGTERM"):
        interrupted.train()
    resumed = build(tmp_path / "run")
    assert resumed.global_step == 7  # the interrupted step was finished and saved
    resumed.train()
    assert same_weights(model_state(full.model), model_state(resumed.model))
    assert resumed.test_result == full.test_result


def test_inference_answers_score_as_the_evaluator(trained: dict[str, Any]) -> None:
    """The top answers of inference give the evaluator's EM/F1, and the top answer is
    "no answer" exactly when no_ans_gap is not positive."""
    silo = trained["silo"]
    inferencer = Inferencer(trained["model"], silo.processor, batch_size=16)
    predictions = [r["predictions"][0] for r in inferencer.inference_from_file("dev.json")]
    for p in predictions:
        assert (p["answers"][0]["answer"] == "") == (p["no_ans_gap"] <= 0)
    golds = [[a["text"] for a in p["ground_truth"]] for p in predictions]
    answers = [[a["answer"] for a in p["answers"]] for p in predictions]
    expected = Evaluator(silo.get_data_loader("dev"), silo.processor.tasks, "cpu").eval(
        trained["model"])[0]
    result = squad(answers, golds)
    assert {k: result[k] for k in ("EM", "f1", "top_n_accuracy", "total")} == {
        k: expected[k] for k in ("EM", "f1", "top_n_accuracy", "total")}
