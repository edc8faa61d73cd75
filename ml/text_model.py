"""Description generator: an LSTM language model conditioned on the image and its attributes.

The conditioning vector (image embedding, one-hot attributes, tone, length) sets the
LSTM's initial state and is fed again at every step.  Attribute values are written
as slot tokens (``xmetalx``...) in the training text and filled in afterwards, so the
model learns where facts go, not which facts are true; :mod:`ml.grounding` then
removes any sentence that still contradicts the attributes or repeats itself.
Tokenising (WordPiece) uses keras-hub; top-p and greedy decoding run as one compiled loop
(ml/decoding.py), checked against keras-hub's step-by-step samplers
(:meth:`DescriptionModel.sample_stepwise`), which also serve beam search.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from ml import vocab
from ml.decoding import CompiledDecoder
from ml.description_templates import SLOT_PATTERN, SLOTS, fill_sentences, taught_frame
from ml.efficientnet_lite import EMBED_DIM
from ml.grounding import MAX_SENTENCES, ground
from ml.tf_setup import keras, seed_everything, tf

SLOT_TOKENS = {slot: f"x{slot}x" for slot in SLOTS}  # "{metal}" and "{Metal}" -> "xmetalx"
PAD, UNK, BOS, EOS = "[PAD]", "[UNK]", "[BOS]", "[EOS]"
RESERVED = [PAD, UNK, BOS, EOS, *SLOT_TOKENS.values()]
COND_DIM = sum(len(v) for v in vocab.DESCRIBER_VALUES.values()) + len(vocab.TONES) + len(vocab.LENGTHS)
WEIGHTS_FILE, CONFIG_FILE = "text_model.weights.h5", "text_model.json"
SENTENCE_SLACK = 3  # sentences decoded past the length's budget, for those grounding drops
DECODINGS = ("top_p", "greedy", "beam")  # top_p and greedy: compiled; beam: keras-hub's BeamSampler
NUM_BEAMS = 4


def delexicalise(template: str) -> str:
    return SLOT_PATTERN.sub(lambda m: SLOT_TOKENS[m.group(1).lower()], template)


def relexicalise(text: str, attributes: dict[str, str]) -> str:
    for slot, token in SLOT_TOKENS.items():
        text = text.replace(token, "{" + slot + "}")
    return fill_sentences(text, attributes)


def condition(attributes: dict[str, str], tone: str, length: str) -> np.ndarray:
    """One-hot attributes, tone and length concatenated: shape ``(COND_DIM,)``.

    A value outside :data:`ml.vocab.DESCRIBER_VALUES` (a marketplace's own) is all zeros."""
    parts = [(np.eye(len(vals), dtype=np.float32)[vals.index(attributes[a])] if attributes.get(a) in vals
              else np.zeros(len(vals), np.float32)) for a, vals in vocab.DESCRIBER_VALUES.items()]
    parts.append(np.eye(len(vocab.TONES), dtype=np.float32)[vocab.TONES.index(tone)])
    parts.append(np.eye(len(vocab.LENGTHS), dtype=np.float32)[vocab.LENGTHS.index(length)])
    return np.concatenate(parts)


def _as_str(x) -> str:
    if hasattr(x, "numpy"):
        x = x.numpy()
    return x.decode() if isinstance(x, bytes) else str(x)


class _Tile(keras.layers.Layer):
    """Repeat a (batch, d) context along the time axis of a (batch, time, ...) tensor."""

    def call(self, ctx, like):
        return keras.ops.repeat(keras.ops.expand_dims(ctx, 1), keras.ops.shape(like)[1], axis=1)


class DescriptionModel:
    def __init__(self, vocabulary: list[str], max_len: int = 96, units: int = 256, frames=()):
        self.vocabulary, self.max_len, self.units = list(vocabulary), int(max_len), int(units)
        self.frames = set(frames)  # the training sentences' frames (taught_frame); empty: unchecked
        self._tokenizer, self._words = None, None
        self.bos, self.eos = self.vocabulary.index(BOS), self.vocabulary.index(EOS)
        self._build()

    @property
    def tokenizer(self):
        """keras-hub's WordPiece tokenizer, made on first use: serving decodes ids itself
        (:meth:`_detokenize`), so a worker never pays for importing keras-hub at start."""
        if self._tokenizer is None:
            import keras_hub

            self._tokenizer = keras_hub.tokenizers.WordPieceTokenizer(
                vocabulary=self.vocabulary, lowercase=True, oov_token=UNK)
        return self._tokenizer

    @classmethod
    def from_corpus(cls, templates: list[str], vocab_size: int = 1000, **kw) -> DescriptionModel:
        import keras_hub

        data = tf.data.Dataset.from_tensor_slices([delexicalise(t) for t in templates])
        voc = keras_hub.tokenizers.compute_word_piece_vocabulary(
            data, vocab_size, lowercase=True, reserved_tokens=RESERVED)
        frames = {taught_frame(s) for t in templates for s in re.findall(r"[^.!?]+[.!?]*", delexicalise(t))}
        model = cls(voc, frames=frames, **kw)
        longest = max(len(ids) for ids in model._encode(templates))
        if longest + 2 > model.max_len:
            model = cls(voc, max_len=longest + 2, frames=frames, **{k: v for k, v in kw.items() if k != "max_len"})
        return model

    def _build(self):
        L, V, U = keras.layers, len(self.vocabulary), self.units
        emb_in, cond_in = keras.Input((EMBED_DIM,), name="embedding"), keras.Input((COND_DIM,), name="cond")
        e = L.Dense(64, activation="relu", name="img_proj")(L.Dropout(0.3)(emb_in))
        ctx = L.Dense(128, activation="relu", name="ctx")(L.Concatenate()([e, cond_in]))
        h0, c0 = L.Dense(U, activation="tanh", name="h0")(ctx), L.Dense(U, activation="tanh", name="c0")(ctx)
        self.init_model = keras.Model([emb_in, cond_in], [ctx, h0, c0])
        tok_emb, tile = L.Embedding(V, 96, name="tokens"), _Tile()
        lstm = L.LSTM(U, return_sequences=True, return_state=True, name="lstm")
        drop, out = L.Dropout(0.2), L.Dense(V, name="logits")

        def decode(tokens, ctx_, h, c):
            x = L.Concatenate()([tok_emb(tokens), tile(ctx_, tokens)])
            seq, h, c = lstm(x, initial_state=[h, c])
            return out(drop(seq)), h, c

        tokens = keras.Input((None,), dtype="int32", name="tokens_in")
        logits, _, _ = decode(tokens, ctx, h0, c0)
        self.train_model = keras.Model([tokens, emb_in, cond_in], logits)
        self._decode_layers = (tok_emb, lstm, out)
        self._decoder = None
        step_tok, step_ctx = keras.Input((1,), dtype="int32"), keras.Input((128,))
        step_h, step_c = keras.Input((U,)), keras.Input((U,))
        self.step_model = keras.Model([step_tok, step_ctx, step_h, step_c],
                                      decode(step_tok, step_ctx, step_h, step_c))

    def _encode(self, templates: list[str]) -> list[list[int]]:
        ids = self.tokenizer([delexicalise(t) for t in templates])
        rows = ids.to_list() if hasattr(ids, "to_list") else ids
        return [[int(i) for i in row] for row in rows]

    def fit(self, embeddings, attributes, tones, lengths, templates, epochs=10, batch_size=64,
            validation_split=0.1, seed=0, verbose=0, callbacks=None) -> dict:
        """Teacher-forced training; returns final ``{"loss", "val_token_accuracy"}``."""
        seed_everything(seed)
        cond = np.stack([condition(a, t, n) for a, t, n in zip(attributes, tones, lengths, strict=False)])
        emb = np.asarray(embeddings, np.float32)[:, :EMBED_DIM]  # a bundle's extra feature parts are the heads'
        rows = [[self.bos] + ids[: self.max_len - 2] + [self.eos] for ids in self._encode(templates)]
        order = np.random.default_rng(seed).permutation(len(rows))
        n_val = int(len(rows) * validation_split) if len(rows) >= 20 else 0
        train = self._dataset(rows, emb, cond, order[n_val:], batch_size, seed)
        val = self._dataset(rows, emb, cond, order[:n_val], batch_size, seed) if n_val else None
        self.train_model.compile(
            optimizer=keras.optimizers.Adam(3e-3, clipnorm=1.0),
            loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            weighted_metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")])
        if not n_val:  # early stopping watches the validation loss; none without a validation set
            callbacks = None
        hist = self.train_model.fit(train, validation_data=val, epochs=epochs, shuffle=False, verbose=verbose,
                                    callbacks=callbacks)
        h = hist.history
        return {"loss": float(h["loss"][-1]),
                "val_token_accuracy": float(h.get("val_token_accuracy", [float("nan")])[-1])}

    @staticmethod
    def _dataset(rows, emb, cond, idx, batch_size, seed):
        """Batches of similar length (sorted, then batch order shuffled) to skip padding work."""
        idx = sorted(idx, key=lambda i: len(rows[i]))
        batches = []
        for b in range(0, len(idx), batch_size):
            sel = idx[b:b + batch_size]
            width = max(len(rows[i]) for i in sel)
            seq = np.zeros((len(sel), width), np.int32)
            for j, i in enumerate(sel):
                seq[j, : len(rows[i])] = rows[i]
            y = seq[:, 1:]
            batches.append(((seq[:, :-1], emb[sel], cond[sel]), y, (y != 0).astype(np.float32)))
        np.random.default_rng(seed).shuffle(batches)

        def gen():
            yield from batches
        sig = ((tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, EMBED_DIM), tf.float32),
                tf.TensorSpec((None, COND_DIM), tf.float32)),
               tf.TensorSpec((None, None), tf.int32), tf.TensorSpec((None, None), tf.float32))
        ds = tf.data.Dataset.from_generator(gen, output_signature=sig)
        return ds.apply(tf.data.experimental.assert_cardinality(len(batches)))

    @property
    def decoder(self) -> CompiledDecoder:
        """The compiled decoding loop (built on first use, then kept with the model)."""
        if self._decoder is None:
            tok_emb, lstm, out = self._decode_layers
            ends = [i for i, t in enumerate(self.vocabulary) if t in (".", "!", "?")]
            self._decoder = CompiledDecoder(tok_emb, lstm.cell, out, self.bos, self.eos, self.max_len - 1, ends)
            self._init_fn = tf.function(lambda e, c: self.init_model([e, c], training=False), reduce_retracing=True)
        return self._decoder

    def _initial_state(self, embeddings, attributes, tones, lengths, compiled=False):
        cond = np.stack([condition(a, t, n_) for a, t, n_ in zip(attributes, tones, lengths, strict=False)])
        fn = self._init_fn if compiled else (lambda e, c: self.init_model([e, c], training=False))
        emb = np.asarray(embeddings, np.float32)[:, :EMBED_DIM]  # the image embedding, without the heads' extras
        return fn(tf.constant(emb), tf.constant(cond))

    def sample(self, embeddings, attributes, tones, lengths, sampler="top_p", seed=0,
               max_sentences=None) -> list[str]:
        """Raw generations (slot tokens still in), one per row, in one compiled batched decode.

        ``max_sentences`` (per row) stops a row early; :meth:`generate` passes the length's
        budget plus slack for sentences that grounding drops. ``sampler="beam"`` has no
        compiled loop and goes through :meth:`sample_stepwise`."""
        if sampler == "beam":
            return self.sample_stepwise(embeddings, attributes, tones, lengths, "beam", max_sentences=max_sentences)
        decoder = self.decoder
        ctx, h0, c0 = self._initial_state(embeddings, attributes, tones, lengths, compiled=True)
        ids = decoder(ctx, h0, c0, greedy=sampler == "greedy", seed=seed, max_sentences=max_sentences)
        return self._detokenize([self._trim(row) for row in ids])

    def _trim(self, row) -> list[int]:
        ids = list(row)
        ids = ids[: ids.index(self.eos)] if self.eos in ids else ids
        return [int(i) for i in ids if i > 3]  # drop PAD/UNK/BOS

    def _detokenize(self, rows: list[list[int]]) -> list[str]:
        """WordPiece ids back to text, as the keras-hub tokenizer's ``detokenize`` does (pieces
        joined by spaces, ``##`` continuations glued on), in Python: a TF call per row costs
        about half a millisecond, more than the rest of a batched description."""
        texts = [" ".join(self.vocabulary[i] for i in ids).replace(" ##", "") for ids in rows]
        return [re.sub(r" ([-'’]) ", r"\1", t) for t in texts]  # "pared - back" -> "pared-back"

    def known_words_only(self, raw: str) -> str:
        """``raw`` minus sentences the describer was not taught: with a word the training text
        never had (pieces glued into "wqne"), or, when the bundle keeps its training frames, in
        a frame no training sentence had ("This pendant is classic in platinum, make go!"):
        a describer's noise, which no rule about meaning would catch."""
        if self._words is None:
            self._words = {t for t in self.vocabulary if not t.startswith("##")}
        return " ".join(s for s in re.findall(r"[^.!?]+[.!?]*", raw)
                        if all(w in self._words for w in re.split(r"[\s\-'’]+", s.strip()) if w)
                        and (not self.frames or taught_frame(s) in self.frames))

    def sample_stepwise(self, embeddings, attributes, tones, lengths, sampler="top_p", seed=0,
                        num_beams=NUM_BEAMS, max_sentences=None) -> list[str]:
        """A keras-hub sampler (greedy, top-p or beam) calling a Keras step model, token by token.

        Slow: the reference :attr:`decoder` is checked against, the benchmark's "before", and
        the only beam search. ``max_sentences`` stops rows as the compiled decoder does."""
        import keras_hub

        ops, rows = keras.ops, len(attributes)
        beams = num_beams if sampler == "beam" else 1
        ctx, h0, c0 = self._initial_state(embeddings, attributes, tones, lengths)
        # BeamSampler repeats the prompt and cache rows once per beam (repeat on axis 0); what
        # the step reads besides them is repeated the same way.
        ctx, n = ops.repeat(ctx, beams, axis=0), rows * beams
        limit = np.repeat(np.zeros(rows) if max_sentences is None else max_sentences, beams).astype(np.int32)
        ends = [i for i, t in enumerate(self.vocabulary) if t in (".", "!", "?")] or [-1]
        only_eos = np.full((1, len(self.vocabulary)), -1e9, np.float32)
        only_eos[0, self.eos] = 0.0
        prompt = np.zeros((rows, self.max_len), np.int32)
        prompt[:, 0] = self.bos
        if sampler == "beam":
            s = keras_hub.samplers.BeamSampler(num_beams=beams)
        elif sampler == "greedy":
            s = keras_hub.samplers.GreedySampler()
        else:
            s = keras_hub.samplers.TopPSampler(p=0.9, temperature=0.8, seed=seed)

        def next_fn(prompt, cache, index):
            tok = ops.slice(prompt, [0, index - 1], [n, 1])
            logits, h, c = self.step_model([tok, ctx, cache[:, 0], cache[:, 1]], training=False)
            # A finished row (EOS said, or its sentence budget used) can only say EOS again, so a
            # finished beam keeps its score; positions not yet decoded hold PAD (0), never counted.
            sentences = ops.sum(ops.cast(ops.isin(prompt, ends), "int32"), axis=1)
            done = ops.any(ops.equal(prompt, self.eos), axis=1) | ((limit > 0) & (sentences >= limit))
            return ops.where(done[:, None], only_eos, logits[:, 0, :]), None, ops.stack([h, c], axis=1)

        out = s(next_fn, keras.ops.convert_to_tensor(prompt), cache=keras.ops.stack([h0, c0], axis=1),
                index=1, stop_token_ids=[self.eos])
        return self._detokenize([self._trim(row[1:]) for row in np.asarray(out)])

    def generate(self, embeddings, attributes: list[dict[str, str]], tone="elegant", length="medium",
                 seed=0, attempts=2, decoding="top_p", facts=None) -> list[str]:
        """Grounded descriptions: decoded, slots filled, contradictions and repeats removed.

        With ``decoding="top_p"``, a row whose generation lost its opening sentence gets a new
        opening sentence (up to ``attempts``, greedy on the last) before falling back to a template opener;
        ``"greedy"`` and ``"beam"`` would only repeat themselves, so they decode once.
        ``tone`` and ``length`` are one value for every row or a list with one per row (the
        worker batches jobs with different options). ``seed`` is one number or one per row (a
        regeneration passes a new one, so its wording changes); ``facts`` (one dict per row, or
        none) are the seller's own words, woven in by :func:`ml.grounding.ground`.
        """
        if decoding not in DECODINGS:
            raise ValueError(f"decoding must be one of {DECODINGS}")
        n = len(attributes)
        tones = [tone] * n if isinstance(tone, str) else list(tone)
        lengths = [length] * n if isinstance(length, str) else list(length)
        seeds = [int(seed)] * n if np.ndim(seed) == 0 else [int(x) for x in seed]
        facts = list(facts) if facts is not None else [None] * n
        texts, drafts = [""] * n, [""] * n
        todo = list(range(n))
        for attempt in range(attempts if decoding == "top_p" else 1):
            sampler = "greedy" if decoding == "top_p" and attempt == attempts - 1 else decoding
            # A retry decodes an opening sentence only (a short loop over the rows that need
            # one) and puts it in front of the draft; grounding then checks the whole text again.
            budget = [1 if attempt else MAX_SENTENCES[lengths[i]] + SENTENCE_SLACK for i in todo]
            raw = self.sample(np.asarray(embeddings)[todo], [attributes[i] for i in todo],
                              [tones[i] for i in todo], [lengths[i] for i in todo],
                              sampler=sampler, seed=(seeds[todo[0]] + attempt) % 2**31, max_sentences=budget)
            still = []
            for i, r in zip(todo, raw, strict=False):
                opening = relexicalise(self.known_words_only(r), attributes[i])
                drafts[i] = f"{opening} {drafts[i]}" if attempt else opening
                texts[i] = ground(drafts[i], attributes[i], tones[i], lengths[i], facts[i], seeds[i])
                if not texts[i].startswith(opening.split(".")[0][:20]) or not r:
                    still.append(i)
            todo = still
            if not todo:
                break
        return texts

    def save(self, directory) -> None:
        d = Path(directory)
        d.mkdir(parents=True, exist_ok=True)
        self.train_model.save_weights(d / WEIGHTS_FILE)
        (d / "vocab.txt").write_text("\n".join(self.vocabulary) + "\n")
        json.dump({"vocabulary": self.vocabulary, "max_len": self.max_len, "units": self.units,
                   "frames": sorted(self.frames)}, open(d / CONFIG_FILE, "w"))

    @classmethod
    def load(cls, directory) -> DescriptionModel:
        d = Path(directory)
        cfg = json.load(open(d / CONFIG_FILE))
        model = cls(cfg["vocabulary"], cfg["max_len"], cfg["units"], cfg.get("frames", ()))
        model.train_model.load_weights(d / WEIGHTS_FILE)
        return model
