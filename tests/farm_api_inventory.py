"""FARM 0.8's public API, written down from the inventory of FARM 0.8 (module by module):
every name with the import path FARM's users wrote and the argument names FARM documented.

``tests/test_farm_api_surface.py`` imports each name and checks that its signature takes
those arguments, or, for what cannot exist any more, that using it raises a ``FarmError``
naming the replacement.

Each entry has:
- ``path``: ``"module:Name"`` or ``"module:Name.attribute"``;
- ``args``: FARM's argument names the signature must name explicitly (for a class: its
  constructor);
- ``side``: ``"model"`` (modeling, training, evaluation, inference, conversion) or
  ``"data"`` (data handling, tokenization helpers, utils, file utils, experiment, visual:
  built on another branch; the data-side test is switched on after that branch is merged);
- ``status``: ``"works"``, ``"removed"`` (importable, raises a ``FarmError`` when used) or
  ``"internal"`` (a FARM implementation detail not offered any more; the migration guide
  must name it and say why).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Entry:
    """One name of FARM 0.8's API."""

    path: str
    args: tuple[str, ...] = ()
    side: str = "model"
    status: str = "works"


def _e(path: str, args: str = "", side: str = "model", status: str = "works") -> Entry:
    return Entry(path, tuple(args.split()), side, status)


LM = "farm.modeling.language_model"
PH = "farm.modeling.prediction_head"
AM = "farm.modeling.adaptive_model"
BAM = "farm.modeling.biadaptive_model"
OPT = "farm.modeling.optimization"
PRED = "farm.modeling.predictions"
MET = "farm.evaluation.metrics"
INF = "farm.infer"
CONV = "farm.conversion.transformers"
WE = "farm.modeling.wordembedding_utils"

MODEL_SIDE = [
    # farm/modeling/language_model.py
    _e(f"{LM}:LanguageModel.load",
       "pretrained_model_name_or_path revision n_added_tokens language_model_class"),
    _e(f"{LM}:LanguageModel.from_scratch", "model_type vocab_size"),
    _e(f"{LM}:LanguageModel.get_language_model_class"),
    _e(f"{LM}:LanguageModel.save", "save_dir"),
    _e(f"{LM}:LanguageModel.get_output_dims"),
    _e(f"{LM}:LanguageModel.freeze", "layers"),
    _e(f"{LM}:LanguageModel.unfreeze"),
    _e(f"{LM}:LanguageModel.formatted_preds"),
    _e(f"{LM}:LanguageModel.enable_hidden_states_output"),
    _e(f"{LM}:LanguageModel.disable_hidden_states_output"),
    _e(f"{LM}:LanguageModel.forward", "input_ids segment_ids padding_mask"),
    *[_e(f"{LM}:{name}.load", "pretrained_model_name_or_path revision")
      for name in ("Bert", "Albert", "Roberta", "XLMRoberta", "DistilBert", "XLNet", "Electra",
                   "Camembert", "DPRQuestionEncoder", "DPRContextEncoder", "BigBird")],
    *[_e(f"{LM}:{name}.forward", "input_ids segment_ids padding_mask")
      for name in ("Bert", "Roberta", "DistilBert")],
    _e(f"{LM}:WordEmbedding_LM", status="removed"),
    _e(f"{LM}:EmbeddingConfig", status="removed"),
    _e(f"{LM}:EmbeddingModel", status="removed"),
    _e(f"{LM}:LanguageModel._infer_language_from_name", status="internal"),
    # farm/modeling/prediction_head.py
    _e(f"{PH}:PredictionHead.create", "prediction_head_name layer_dims class_weights"),
    _e(f"{PH}:PredictionHead.load", "config_file strict load_weights"),
    _e(f"{PH}:PredictionHead.save", "save_dir head_num"),
    _e(f"{PH}:PredictionHead.logits_to_loss", "logits"),
    _e(f"{PH}:PredictionHead.logits_to_preds", "logits"),
    _e(f"{PH}:PredictionHead.prepare_labels"),
    _e(f"{PH}:PredictionHead.formatted_preds", "logits"),
    _e(f"{PH}:PredictionHead.resize_input", "input_dim"),
    *[_e(f"{PH}:PredictionHead.{attr}")
      for attr in ("ph_output_type", "model_type", "subclasses")],
    _e(f"{PH}:RegressionHead", "layer_dims task_name"),
    _e(f"{PH}:TextClassificationHead",
       "layer_dims num_labels class_weights loss_ignore_index loss_reduction task_name"),
    _e(f"{PH}:TextClassificationHead.load", "config_file revision"),
    _e(f"{PH}:MultiLabelTextClassificationHead",
       "layer_dims num_labels class_weights task_name pred_threshold"),
    _e(f"{PH}:TokenClassificationHead", "layer_dims num_labels task_name"),
    _e(f"{PH}:TokenClassificationHead.load", "config_file revision"),
    _e(f"{PH}:BertLMHead", "hidden_size vocab_size hidden_act task_name"),
    _e(f"{PH}:BertLMHead.load", "pretrained_model_name_or_path n_added_tokens"),
    _e(f"{PH}:BertLMHead.decoder"),
    _e(f"{PH}:NextSentenceHead", "layer_dims num_labels task_name"),
    _e(f"{PH}:QuestionAnsweringHead",
       "layer_dims task_name no_ans_boost context_window_size n_best n_best_per_sample "
       "duplicate_filtering temperature_for_confidence use_confidence_scores_for_ranking"),
    _e(f"{PH}:QuestionAnsweringHead.load", "config_file revision"),
    _e(f"{PH}:QuestionAnsweringHead.calibrate_conf"),
    _e(f"{PH}:QuestionAnsweringHead.aggregate_preds", status="internal"),
    _e(f"{PH}:QuestionAnsweringHead.reduce_preds", status="internal"),
    _e(f"{PH}:QuestionAnsweringHead.merge_formatted_preds", status="internal"),
    _e(f"{PH}:TextSimilarityHead", "similarity_function global_loss_buffer_size"),
    _e(f"{PH}:FeedForwardBlock", "layer_dims"),
    # farm/modeling/adaptive_model.py and biadaptive_model.py
    _e(f"{AM}:AdaptiveModel",
       "language_model prediction_heads embeds_dropout_prob lm_output_types device "
       "loss_aggregation_fn"),
    _e(f"{AM}:AdaptiveModel.forward"),
    _e(f"{AM}:AdaptiveModel.forward_lm"),
    _e(f"{AM}:AdaptiveModel.logits_to_loss", "logits global_step"),
    _e(f"{AM}:AdaptiveModel.logits_to_loss_per_head", "logits"),
    _e(f"{AM}:AdaptiveModel.logits_to_preds", "logits"),
    _e(f"{AM}:AdaptiveModel.formatted_preds", "logits"),
    _e(f"{AM}:AdaptiveModel.prepare_labels"),
    _e(f"{AM}:AdaptiveModel.connect_heads_with_processor", "tasks require_labels"),
    _e(f"{AM}:AdaptiveModel.save", "save_dir"),
    _e(f"{AM}:AdaptiveModel.load", "load_dir device strict lm_name processor"),
    _e(f"{AM}:AdaptiveModel.verify_vocab_size", "vocab_size"),
    _e(f"{AM}:AdaptiveModel.get_language"),
    _e(f"{AM}:AdaptiveModel.convert_to_transformers"),
    _e(f"{AM}:AdaptiveModel.convert_from_transformers",
       "model_name_or_path device revision task_type processor"),
    _e(f"{AM}:AdaptiveModel.convert_to_onnx",
       "model_name output_path task_type convert_to_float16 quantize opset_version"),
    _e(f"{AM}:AdaptiveModel.bypass_ph", status="internal"),
    _e(f"{AM}:BaseAdaptiveModel.load", "load_dir device strict"),
    _e(f"{AM}:ONNXAdaptiveModel.load", "load_dir"),
    _e(f"{AM}:ONNXWrapper", status="internal"),
    _e(f"{BAM}:BiAdaptiveModel",
       "language_model1 language_model2 prediction_heads embeds_dropout_prob device "
       "lm1_output_types lm2_output_types loss_aggregation_fn"),
    _e(f"{BAM}:BiAdaptiveModel.save", "save_dir lm1_name lm2_name"),
    _e(f"{BAM}:BiAdaptiveModel.load", "load_dir device strict lm1_name lm2_name processor"),
    _e(f"{BAM}:BiAdaptiveModel.convert_to_transformers"),
    _e(f"{BAM}:BiAdaptiveModel.convert_from_transformers",
       "model_name_or_path1 model_name_or_path2 device task_type processor "
       "similarity_function"),
    # farm/modeling/optimization.py
    _e(f"{OPT}:initialize_optimizer",
       "model n_batches n_epochs device learning_rate optimizer_opts schedule_opts "
       "distributed grad_acc_steps local_rank use_amp"),
    _e(f"{OPT}:get_scheduler", "optimizer opts"),
    _e(f"{OPT}:optimize_model", "model device local_rank optimizer distributed use_amp"),
    _e(f"{OPT}:AMP_AVAILABLE"),
    _e(f"{OPT}:WrappedDataParallel"),
    _e(f"{OPT}:WrappedDDP"),
    # farm/train.py
    _e("farm.train:EarlyStopping", "head metric save_dir mode patience min_delta min_evals"),
    _e("farm.train:EarlyStopping.check_stopping", "eval_result"),
    _e("farm.train:Trainer",
       "model optimizer data_silo epochs n_gpu device lr_schedule evaluate_every eval_report "
       "use_amp grad_acc_steps local_rank early_stopping log_learning_rate log_loss_every "
       "checkpoint_on_sigterm checkpoint_every checkpoint_root_dir checkpoints_to_keep "
       "from_epoch from_step global_step evaluator_test disable_tqdm max_grad_norm"),
    _e("farm.train:Trainer.train"),
    _e("farm.train:Trainer.create_or_load_checkpoint",
       "data_silo checkpoint_root_dir model optimizer local_rank resume_from_checkpoint"),
    # farm/eval.py
    _e("farm.eval:Evaluator", "data_loader tasks device report"),
    _e("farm.eval:Evaluator.eval", "model return_preds_and_labels calibrate_conf_scores"),
    _e("farm.eval:Evaluator.log_results",
       "results dataset_name steps logging print num_fold"),
    # farm/evaluation/*
    _e(f"{MET}:compute_metrics", "metric preds labels"),
    _e(f"{MET}:register_metrics", "name implementation"),
    _e(f"{MET}:register_report", "name implementation"),
    _e(f"{MET}:compute_report_metrics", "head preds labels"),
    *[_e(f"{MET}:{name}", "preds labels")
      for name in ("squad_EM", "squad_f1", "squad_EM_start", "top_n_accuracy",
                   "text_similarity_acc_and_f1", "text_similarity_avg_ranks",
                   "text_similarity_metric", "metrics_per_bin")],
    _e(f"{MET}:confidence", "preds"),
    _e("farm.evaluation.squad_evaluation:EVAL_OPTS", "data_file pred_file"),
    _e("farm.evaluation.squad_evaluation:main"),
    _e("farm.evaluation.semantic_answer_similarity_evaluation:semantic_answer_similarity",
       "result sts_model_path_or_string debug"),
    _e("farm.evaluation.msmarco_passage_official:compute_metrics_from_files",
       "path_to_reference path_to_candidate perform_checks"),
    # farm/infer.py
    _e(f"{INF}:Inferencer",
       "model processor task_type batch_size gpu name return_class_probs extraction_strategy "
       "extraction_layer s3e_stats num_processes disable_tqdm benchmarking dummy_ph"),
    _e(f"{INF}:Inferencer.load",
       "model_name_or_path revision batch_size gpu task_type return_class_probs strict "
       "max_seq_len doc_stride extraction_layer extraction_strategy s3e_stats num_processes "
       "disable_tqdm tokenizer_class use_fast tokenizer_args multithreading_rust dummy_ph "
       "benchmarking"),
    _e(f"{INF}:Inferencer.inference_from_dicts",
       "dicts return_json multiprocessing_chunksize streaming"),
    _e(f"{INF}:Inferencer.inference_from_file",
       "file multiprocessing_chunksize streaming return_json"),
    _e(f"{INF}:Inferencer.run_inference", "dicts"),
    _e(f"{INF}:Inferencer.save", "path"),
    _e(f"{INF}:Inferencer.extract_vectors", "dicts extraction_strategy extraction_layer"),
    _e(f"{INF}:Inferencer.close_multiprocessing_pool", "join"),
    _e(f"{INF}:QAInferencer.inference_from_objects",
       "objects return_json multiprocessing_chunksize"),
    _e(f"{INF}:FasttextInferencer", status="removed"),
    # farm/modeling/predictions.py
    _e(f"{PRED}:Pred", "id prediction context"),
    _e(f"{PRED}:QACandidate",
       "answer_type score offset_answer_start offset_answer_end offset_unit "
       "aggregation_level probability n_passages_in_doc passage_id confidence"),
    _e(f"{PRED}:QACandidate.to_doc_level", "start end"),
    _e(f"{PRED}:QACandidate.add_cls", "predicted_class"),
    _e(f"{PRED}:QAPred",
       "id prediction context question token_offsets context_window_size aggregation_level "
       "no_answer_gap ground_truth_answer answer_types"),
    _e(f"{PRED}:QAPred.to_json", "squad"),
    _e(f"{PRED}:QAPred.to_squad_eval"),
    # farm/conversion/*
    _e(f"{CONV}:Converter.convert_to_transformers", "adaptive_model"),
    _e(f"{CONV}:Converter.convert_from_transformers",
       "model_name_or_path device revision task_type processor"),
    _e("farm.conversion.convert_tf_checkpoint_to_pytorch:convert_tf_checkpoint_to_pytorch",
       status="removed"),
    # farm/inference_rest_api.py
    _e("farm.inference_rest_api:create_app"),
    # farm/modeling/wordembedding_utils.py
    _e(f"{WE}:Fasttext_converter", status="removed"),
    _e(f"{WE}:convert_WordEmbeddings", status="removed"),
    _e(f"{WE}:fit_s3e_on_corpus", status="removed"),
    _e(f"{WE}:s3e_pooling", status="removed"),
]

PROC = "farm.data_handler.processor"
SILO = "farm.data_handler.data_silo"
DUT = "farm.data_handler.utils"
TOK = "farm.modeling.tokenization"
UT = "farm.utils"
FU = "farm.file_utils"
EXP = "farm.experiment"


def _d(path: str, args: str = "", status: str = "works") -> Entry:
    return _e(path, args, side="data", status=status)


DATA_SIDE = [
    # farm/data_handler/processor.py
    _d(f"{PROC}:Processor",
       "tokenizer max_seq_len train_filename dev_filename test_filename dev_split data_dir "
       "tasks proxies multithreading_rust"),
    _d(f"{PROC}:Processor.load",
       "processor_name data_dir tokenizer max_seq_len train_filename dev_filename "
       "test_filename dev_split"),
    _d(f"{PROC}:Processor.load_from_dir", "load_dir"),
    _d(f"{PROC}:Processor.convert_from_transformers",
       "tokenizer_name_or_path task_type max_seq_len doc_stride revision tokenizer_class "
       "tokenizer_args use_fast"),
    _d(f"{PROC}:Processor.save", "save_dir"),
    _d(f"{PROC}:Processor.add_task",
       "name metric label_list label_column_name label_name task_type text_column_name"),
    _d(f"{PROC}:Processor.file_to_dicts", "file"),
    _d(f"{PROC}:Processor.dataset_from_dicts", "dicts indices return_baskets"),
    _d(f"{PROC}:Processor.log_problematic"),
    _d(f"{PROC}:Processor.subclasses"),
    _d(f"{PROC}:TextClassificationProcessor",
       "tokenizer max_seq_len data_dir label_list metric train_filename dev_filename "
       "test_filename dev_split dev_stratification delimiter quote_char skiprows "
       "label_column_name multilabel header proxies max_samples text_column_name"),
    _d(f"{PROC}:TextPairClassificationProcessor", "tokenizer max_seq_len data_dir label_list"),
    _d(f"{PROC}:RegressionProcessor",
       "tokenizer max_seq_len data_dir label_name scaler_mean scaler_scale"),
    _d(f"{PROC}:TextPairRegressionProcessor", "tokenizer max_seq_len data_dir"),
    _d(f"{PROC}:InferenceProcessor", "tokenizer max_seq_len"),
    _d(f"{PROC}:NERProcessor",
       "tokenizer max_seq_len data_dir label_list metric train_filename dev_filename "
       "test_filename dev_split delimiter proxies"),
    _d(f"{PROC}:BertStyleLMProcessor",
       "tokenizer max_seq_len data_dir train_filename dev_filename test_filename dev_split "
       "next_sent_pred next_sent_pred_style max_docs proxies masked_lm_prob"),
    _d(f"{PROC}:BertStyleLMProcessor.estimate_n_samples", "filepath max_docs"),
    _d(f"{PROC}:BertStyleLMProcessor.get_added_tokens"),
    _d(f"{PROC}:SquadProcessor",
       "tokenizer max_seq_len data_dir label_list metric train_filename dev_filename "
       "test_filename dev_split doc_stride max_query_length proxies max_answers"),
    _d(f"{PROC}:NaturalQuestionsProcessor", status="removed"),
    _d(f"{PROC}:TextSimilarityProcessor",
       "query_tokenizer passage_tokenizer max_seq_len_query max_seq_len_passage data_dir "
       "metric train_filename dev_filename test_filename dev_split proxies max_samples "
       "embed_title num_positives num_hard_negatives shuffle_negatives shuffle_positives "
       "label_list"),
    # farm/data_handler/data_silo.py
    _d(f"{SILO}:DataSilo",
       "processor batch_size eval_batch_size distributed automatic_loading "
       "max_multiprocessing_chunksize max_processes caching cache_path"),
    _d(f"{SILO}:DataSilo.get_data_loader"),
    _d(f"{SILO}:DataSilo.n_samples"),
    _d(f"{SILO}:DataSilo.calculate_class_weights", "task_name source"),
    _d(f"{SILO}:StreamingDataSilo", "processor batch_size distributed dataloader_workers"),
    _d(f"{SILO}:StreamingDataSilo.get_data_loader"),
    _d(f"{SILO}:DataSiloForCrossVal.make",
       "datasilo sets n_splits shuffle random_state stratification n_neg_answers_per_question "
       "n_inner_splits"),
    _d(f"{SILO}:DataSiloForHoldout.make",
       "datasilo sets n_splits train_split random_state stratification"),
    # farm/data_handler/{samples,dataset,dataloader,inputs,utils}.py
    _d("farm.data_handler.samples:SampleBasket", "id_internal raw id_external samples"),
    _d("farm.data_handler.samples:Sample", "id clear_text tokenized features"),
    _d("farm.data_handler.dataloader:NamedDataLoader",
       "dataset batch_size sampler tensor_names num_workers pin_memory"),
    _d("farm.data_handler.dataset:convert_features_to_dataset", "features"),
    _d("farm.data_handler.dataset:ConcatTensorDataset"),
    _d("farm.data_handler.inputs:QAInput", "doc_text questions"),
    _d("farm.data_handler.inputs:Question", "text uid"),
    _d(f"{DUT}:read_tsv",
       "filename rename_columns quotechar delimiter skiprows header proxies max_samples"),
    _d(f"{DUT}:read_tsv_sentence_pair"),
    _d(f"{DUT}:read_jsonl"),
    _d(f"{DUT}:read_ner_file", "filename sep"),
    _d(f"{DUT}:read_squad_file"),
    _d(f"{DUT}:read_dpr_json",
       "file max_samples num_hard_negatives num_positives shuffle_negatives shuffle_positives"),
    _d(f"{DUT}:read_docs_from_txt", "filename delimiter encoding max_docs"),
    _d(f"{DUT}:write_squad_predictions"),
    _d(f"{DUT}:split_file", "filepath output_dir docs_per_file"),
    _d(f"{DUT}:grouper", "iterable n worker_id total_workers"),
    _d(f"{DUT}:DOWNSTREAM_TASK_MAP"),
    # farm/modeling/tokenization.py
    _d(f"{TOK}:Tokenizer.load",
       "pretrained_model_name_or_path revision tokenizer_class use_fast"),
    _d(f"{TOK}:EmbeddingTokenizer", status="removed"),
    _d(f"{TOK}:tokenize_with_metadata", "text tokenizer"),
    _d(f"{TOK}:truncate_sequences",
       "seq_a seq_b tokenizer max_seq_len truncation_strategy with_special_tokens stride"),
    _d(f"{TOK}:insert_at_special_tokens_pos"),
    _d(f"{TOK}:tokenize_batch_question_answering", "pre_baskets tokenizer indices"),
    # farm/utils.py
    _d(f"{UT}:set_all_seeds", "seed deterministic_cudnn"),
    _d(f"{UT}:initialize_device_settings", "use_cuda local_rank use_amp"),
    _d(f"{UT}:calc_chunksize", "num_dicts min_chunksize max_chunksize max_processes"),
    _d(f"{UT}:BaseMLLogger", "tracking_uri"),
    _d(f"{UT}:MLFlowLogger", "tracking_uri"),
    _d(f"{UT}:MLFlowLogger.init_experiment", "experiment_name run_name nested"),
    *[_d(f"{UT}:MLFlowLogger.{name}")
      for name in ("log_metrics", "log_params", "log_artifacts", "end_run", "disable")],
    _d(f"{UT}:StdoutLogger"),
    _d(f"{UT}:TensorBoardLogger"),
    *[_d(f"{UT}:{name}")
      for name in ("GracefulKiller", "convert_iob_to_simple_tags", "flatten_list",
                   "get_dict_checksum", "Benchmarker", "all_reduce", "try_get", "stack",
                   "to_numpy")],
    _d(f"{UT}:all_gather_list", "data max_size"),
    # farm/file_utils.py
    _d(f"{FU}:fetch_archive_from_http", "url output_dir proxies"),
    _d(f"{FU}:download_from_s3", status="removed"),
    _d(f"{FU}:s3_get", status="removed"),
    _d(f"{FU}:http_get", "url temp_file proxies"),
    _d(f"{FU}:load_from_cache", status="removed"),
    _d(f"{FU}:get_file_extension"),
    _d(f"{FU}:read_config", "path"),
    _d(f"{FU}:unnestConfig", "config"),
    # farm/experiment.py
    _d(f"{EXP}:load_experiments", "file"),
    _d(f"{EXP}:run_experiment", "args"),
    _d(f"{EXP}:get_adaptive_model",
       "lm_output_type prediction_heads layer_dims model device embeds_dropout_prob "
       "class_weights"),
    # farm/visual/*
    *[_d(f"farm.visual.ascii.images:{name}")
      for name in ("TRACTOR_SMALL", "GROWING_TREE", "WELCOME_BARN", "BUSH_SEP", "WORKER_M",
                   "WORKER_F", "WORKER_X")],
]

INVENTORY = MODEL_SIDE + DATA_SIDE
