"""Compiled decoding for the description LSTM: the whole loop runs as one TF graph.

Step-by-step decoding through a Keras model costs a Python round trip and a few
dozen eager ops per token (1-4 s per description). Here the loop is a ``tf.while_loop``
inside a ``tf.function``: the LSTM state is carried from step to step (the cache), the
LSTM step is written out with the trained weights (the input projection of every token
computed once per call as a table), the output layer of the trained model is called directly,
and sampling (top-p or greedy) happens in the graph too. It uses the same layers and
weights as :meth:`ml.text_model.DescriptionModel.sample_stepwise`, so greedy decoding
gives the same tokens; top-p uses a stateless seed per step, so a seed always gives the
same text.
"""
from __future__ import annotations

import numpy as np

from ml.tf_setup import tf

TOP_P, TEMPERATURE = 0.9, 0.8  # as in the step-by-step reference sampler
TOP_K = 64  # top-p looks at the 64 likeliest tokens only (keras-hub's TopPSampler(k=...)): no full sort


class CompiledDecoder:
    """Batched decoding of token ids from the initial context and LSTM state."""

    def __init__(self, token_embedding, lstm_cell, logits_layer, bos: int, eos: int, max_steps: int,
                 sentence_ends=()):
        self.embedding, self.cell, self.logits = token_embedding, lstm_cell, logits_layer
        if (lstm_cell.activation.__name__, lstm_cell.recurrent_activation.__name__) != ("tanh", "sigmoid") \
                or not lstm_cell.use_bias:
            raise ValueError("the compiled step implements a tanh/sigmoid LSTM cell with a bias")
        self.bos, self.eos, self.max_steps = int(bos), int(eos), int(max_steps)
        self.sentence_ends = tf.constant(sorted(sentence_ends) or [-1], tf.int32)
        vocab_size = int(logits_layer.units)
        self.pad_mask = tf.constant(np.eye(1, vocab_size, 0, dtype=np.float32)[0] * -1e9)
        spec = [tf.TensorSpec((None, None), tf.float32)] * 3 + [tf.TensorSpec((None,), tf.int32),
                                                               tf.TensorSpec((), tf.int32)]
        self._greedy = tf.function(lambda *a: self._loop(*a, greedy=True), input_signature=spec,
                                   reduce_retracing=True)
        self._top_p = tf.function(lambda *a: self._loop(*a, greedy=False), input_signature=spec,
                                  reduce_retracing=True)

    def __call__(self, ctx, h0, c0, greedy: bool = False, seed: int = 0, max_sentences=None) -> np.ndarray:
        """Token ids, shape ``(batch, max_steps)``; after EOS every position is 0 (PAD).

        A row also stops after ``max_sentences[row]`` sentence ends (0: no limit): text past
        what grounding keeps is not worth generating, and a batch runs as long as its longest row.
        """
        fn = self._greedy if greedy else self._top_p
        args = [tf.convert_to_tensor(np.asarray(a, np.float32)) for a in (ctx, h0, c0)]
        limit = np.zeros(len(args[0]), np.int32) if max_sentences is None else np.asarray(max_sentences, np.int32)
        ids = fn(*args, tf.constant(limit), tf.constant(int(seed), tf.int32)).numpy()
        return np.pad(ids, [(0, 0), (0, self.max_steps - ids.shape[1])])

    def _next_token(self, logits, seed, step, greedy: bool):
        if greedy:
            return tf.argmax(logits, axis=-1, output_type=tf.int32)
        probs = tf.nn.softmax(logits / TEMPERATURE, axis=-1)
        sorted_probs, sorted_ids = tf.math.top_k(probs, k=tf.minimum(TOP_K, tf.shape(probs)[-1]), sorted=True)
        # Keep the smallest prefix whose mass reaches TOP_P (the first token always stays).
        keep = (tf.cumsum(sorted_probs, axis=-1) - sorted_probs) < TOP_P
        masked = tf.where(keep, tf.math.log(sorted_probs + 1e-12), tf.fill(tf.shape(sorted_probs), -1e9))
        pick = tf.random.stateless_categorical(masked, 1, seed=tf.stack([seed, step]), dtype=tf.int32)
        return tf.gather(sorted_ids, pick, batch_dims=1)[:, 0]

    def _loop(self, ctx, h, c, limit, seed, greedy: bool):
        n = tf.shape(ctx)[0]
        out = tf.TensorArray(tf.int32, size=0, dynamic_size=True, element_shape=tf.TensorShape([None]))

        # The LSTM's input is [token embedding, ctx]: its share of the gate pre-activations is a
        # per-token table plus a per-row constant, both computed once here instead of every step.
        kernel, width = self.cell.kernel, tf.shape(self.embedding.embeddings)[1]
        table = tf.matmul(self.embedding.embeddings, kernel[:width])
        ctx_gates = tf.matmul(ctx, kernel[width:]) + self.cell.bias

        # Only rows still decoding are carried (``rows`` says which): a finished row costs nothing
        # more, and the loop's matrix products shrink as rows end (half the row-steps of a batch).
        def body(step, rows, tokens, h, c, gates, limit, sentences, out):
            z = tf.gather(table, tokens) + gates + tf.matmul(h, self.cell.recurrent_kernel)
            i, f, g, o = tf.split(z, 4, axis=-1)  # Keras LSTM gate order
            c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
            h = tf.sigmoid(o) * tf.tanh(c)
            # PAD (id 0) marks where a row ended, so it is never a token to write.
            logits = self.logits(h) + self.pad_mask
            nxt = self._next_token(logits, seed, step, greedy)
            ends = tf.reduce_any(tf.equal(nxt[:, None], self.sentence_ends[None, :]), axis=-1)
            sentences += tf.cast(ends, tf.int32)
            done = tf.equal(nxt, self.eos) | ((limit > 0) & (sentences >= limit))
            out = out.write(step, tf.scatter_nd(rows[:, None], nxt, [n]))  # finished rows read 0 (PAD)
            keep = tf.where(tf.logical_not(done))[:, 0]
            return (step + 1,) + tuple(tf.gather(t, keep) for t in (rows, nxt, h, c, gates, limit, sentences)) + (out,)

        def more(step, rows, *_):
            return tf.logical_and(step < self.max_steps, tf.size(rows) > 0)

        vector, matrix = tf.TensorShape([None]), tf.TensorShape([None, None])
        start = (tf.constant(0), tf.range(n), tf.fill([n], self.bos), h, c, ctx_gates, limit,
                 tf.zeros([n], tf.int32), out)
        invariants = (tf.TensorShape([]), vector, vector, matrix, matrix, matrix, vector, vector,
                      tf.TensorShape(None))
        step, *_, out = tf.while_loop(more, body, start, shape_invariants=invariants)
        return tf.transpose(out.stack())  # (batch, steps taken)
