#!/usr/bin/python3
"""Writes a tiny BERT-architecture sentence-transformer folder for the ONNX embedder's
tests, with no weights from the internet: random weights from a fixed seed.

  model.onnx      2 encoder layers, hidden 32, 4 heads, intermediate 64, 128 positions;
                  inputs input_ids, attention_mask, token_type_ids [batch, seq] (int64);
                  output last_hidden_state [batch, seq, 32]
  vocab.txt       the first 3000 pieces of the uncased BERT vocabulary
                  (../../../wordpiece/vocab/bert-base-uncased.txt, Apache-2.0)
  reference.json  for a few id sequences, the mean-pooled, L2-normalised vectors computed
                  here with numpy, independently of onnxruntime

Needs Debian's python3-onnx and python3-numpy:  /usr/bin/python3 gen_model.py
"""
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
VOCAB, HIDDEN, HEADS, INTER, LAYERS, POSITIONS = 3000, 32, 4, 64, 2, 128
rng = np.random.default_rng(20261125)


def w(*shape, scale=0.2):
    return (rng.standard_normal(shape) * scale).astype(np.float32)


weights = {
    "word": w(VOCAB, HIDDEN), "pos": w(POSITIONS, HIDDEN), "type": w(2, HIDDEN),
    "ln0_g": (1 + w(HIDDEN, scale=0.05)), "ln0_b": w(HIDDEN, scale=0.05),
}
for l in range(LAYERS):
    for name in ("q", "k", "v", "o"):
        weights[f"l{l}_{name}_w"] = w(HIDDEN, HIDDEN)
        weights[f"l{l}_{name}_b"] = w(HIDDEN, scale=0.05)
    weights[f"l{l}_i_w"], weights[f"l{l}_i_b"] = w(HIDDEN, INTER), w(INTER, scale=0.05)
    weights[f"l{l}_f_w"], weights[f"l{l}_f_b"] = w(INTER, HIDDEN), w(HIDDEN, scale=0.05)
    for n in (1, 2):
        weights[f"l{l}_ln{n}_g"] = 1 + w(HIDDEN, scale=0.05)
        weights[f"l{l}_ln{n}_b"] = w(HIDDEN, scale=0.05)

# ---------------------------------------------------------------------------- graph
nodes, inits = [], [numpy_helper.from_array(v, k) for k, v in weights.items()]


def const(name, value, dtype=np.int64):
    inits.append(numpy_helper.from_array(np.array(value, dtype=dtype), name))
    return name


def node(op, inputs, output, **attrs):
    nodes.append(helper.make_node(op, inputs, [output], **attrs))
    return output


const("c0", 0), const("c1", 1), const("ax0", [0]), const("ax1", [1]), const("ax12", [1, 2])
const("one_f", 1.0, np.float32), const("neg_big", -10000.0, np.float32)
const("half", 0.5, np.float32), const("sqrt2", np.sqrt(2.0), np.float32)
const("scale", 1.0 / np.sqrt(HIDDEN // HEADS), np.float32)
const("heads_shape", [0, 0, HEADS, HIDDEN // HEADS]), const("hidden_shape", [0, 0, HIDDEN])

# embeddings: word + position + token type, then LayerNorm
node("Shape", ["input_ids"], "ids_shape")
node("Gather", ["ids_shape", "c1"], "seq_len", axis=0)
node("Range", ["c0", "seq_len", "c1"], "positions")
node("Gather", ["word", "input_ids"], "e_word", axis=0)
node("Gather", ["pos", "positions"], "e_pos", axis=0)
node("Gather", ["type", "token_type_ids"], "e_type", axis=0)
node("Add", ["e_word", "e_pos"], "e_sum1")
node("Add", ["e_sum1", "e_type"], "e_sum")
x = node("LayerNormalization", ["e_sum", "ln0_g", "ln0_b"], "h0", axis=-1, epsilon=1e-12)

# attention bias from the mask: 0 where attended, -10000 where padded, [batch, 1, 1, seq]
node("Cast", ["attention_mask"], "mask_f", to=TensorProto.FLOAT)
node("Sub", ["one_f", "mask_f"], "mask_inv")
node("Mul", ["mask_inv", "neg_big"], "mask_bias2")
node("Unsqueeze", ["mask_bias2", "ax12"], "mask_bias")

for l in range(LAYERS):
    p = f"l{l}_"

    def proj(name):
        node("MatMul", [x, p + name + "_w"], p + name + "_mm")
        node("Add", [p + name + "_mm", p + name + "_b"], p + name + "_lin")
        node("Reshape", [p + name + "_lin", "heads_shape"], p + name + "_heads")
        return node("Transpose", [p + name + "_heads"], p + name + "_t", perm=[0, 2, 1, 3])

    q, k, v = proj("q"), proj("k"), proj("v")
    node("Transpose", [k], p + "kT", perm=[0, 1, 3, 2])
    node("MatMul", [q, p + "kT"], p + "scores_raw")
    node("Mul", [p + "scores_raw", "scale"], p + "scores_scaled")
    node("Add", [p + "scores_scaled", "mask_bias"], p + "scores")
    node("Softmax", [p + "scores"], p + "probs", axis=-1)
    node("MatMul", [p + "probs", v], p + "ctx_heads")
    node("Transpose", [p + "ctx_heads"], p + "ctx_t", perm=[0, 2, 1, 3])
    node("Reshape", [p + "ctx_t", "hidden_shape"], p + "ctx")
    node("MatMul", [p + "ctx", p + "o_w"], p + "o_mm")
    node("Add", [p + "o_mm", p + "o_b"], p + "o_lin")
    node("Add", [p + "o_lin", x], p + "res1")
    x1 = node("LayerNormalization", [p + "res1", p + "ln1_g", p + "ln1_b"], p + "h1", axis=-1, epsilon=1e-12)
    node("MatMul", [x1, p + "i_w"], p + "i_mm")
    node("Add", [p + "i_mm", p + "i_b"], p + "i_lin")
    # exact GELU: 0.5 x (1 + erf(x / sqrt 2))
    node("Div", [p + "i_lin", "sqrt2"], p + "g_div")
    node("Erf", [p + "g_div"], p + "g_erf")
    node("Add", [p + "g_erf", "one_f"], p + "g_add")
    node("Mul", [p + "i_lin", p + "g_add"], p + "g_mul")
    node("Mul", [p + "g_mul", "half"], p + "gelu")
    node("MatMul", [p + "gelu", p + "f_w"], p + "f_mm")
    node("Add", [p + "f_mm", p + "f_b"], p + "f_lin")
    node("Add", [p + "f_lin", x1], p + "res2")
    out = "last_hidden_state" if l == LAYERS - 1 else p + "h2"
    x = node("LayerNormalization", [p + "res2", p + "ln2_g", p + "ln2_b"], out, axis=-1, epsilon=1e-12)

ids = [helper.make_tensor_value_info(n, TensorProto.INT64, ["batch", "sequence"]) for n in ("input_ids", "attention_mask", "token_type_ids")]
outs = [helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, ["batch", "sequence", HIDDEN])]
graph = helper.make_graph(nodes, "tiny-bert", ids, outs, inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], producer_name="docingest gen_model.py")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, os.path.join(HERE, "model.onnx"))

# ---------------------------------------------------------------------------- vocabulary
with open(os.path.join(HERE, "../../../wordpiece/vocab/bert-base-uncased.txt"), encoding="utf-8") as f:
    pieces = f.read().split("\n")[:VOCAB]
with open(os.path.join(HERE, "vocab.txt"), "w", encoding="utf-8") as f:
    f.write("\n".join(pieces) + "\n")

# ---------------------------------------------------------------------------- reference


def layer_norm(a, g, b, eps=1e-12):
    mu = a.mean(-1, keepdims=True)
    var = ((a - mu) ** 2).mean(-1, keepdims=True)
    return (a - mu) / np.sqrt(var + eps) * g + b


def erf(a):
    from math import erf as e
    return np.vectorize(e)(a.astype(np.float64)).astype(np.float32)


def forward(ids_row):
    ids_row = np.array(ids_row)
    t = len(ids_row)
    h = weights["word"][ids_row] + weights["pos"][:t] + weights["type"][np.zeros(t, dtype=int)]
    h = layer_norm(h, weights["ln0_g"], weights["ln0_b"])
    dh = HIDDEN // HEADS
    for l in range(LAYERS):
        p = f"l{l}_"

        def heads(name):
            return (h @ weights[p + name + "_w"] + weights[p + name + "_b"]).reshape(t, HEADS, dh).transpose(1, 0, 2)

        q, k, v = heads("q"), heads("k"), heads("v")
        s = q @ k.transpose(0, 2, 1) / np.sqrt(dh)
        s = np.exp(s - s.max(-1, keepdims=True))
        s = s / s.sum(-1, keepdims=True)
        ctx = (s @ v).transpose(1, 0, 2).reshape(t, HIDDEN)
        h1 = layer_norm(ctx @ weights[p + "o_w"] + weights[p + "o_b"] + h, weights[p + "ln1_g"], weights[p + "ln1_b"])
        i = h1 @ weights[p + "i_w"] + weights[p + "i_b"]
        g = 0.5 * i * (1 + erf(i / np.sqrt(2)))
        h = layer_norm(g @ weights[p + "f_w"] + weights[p + "f_b"] + h1, weights[p + "ln2_g"], weights[p + "ln2_b"])
    pooled = h.mean(0)  # every token of an unpadded sequence is attended
    return (pooled / np.linalg.norm(pooled)).tolist()


cases = [[101, 102], [101, 1996, 2829, 2003, 102], [101] + list(range(1000, 1120)) + [102], [101, 2023, 2003, 1037, 2742, 1012, 102]]
with open(os.path.join(HERE, "reference.json"), "w") as f:
    json.dump([{"ids": c, "vector": forward(c)} for c in cases], f, indent=1)
print("wrote model.onnx, vocab.txt, reference.json")
