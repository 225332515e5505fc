"""Show and Tell image captioning: a CNN encoder and an LSTM decoder.

Vinyals, Toshev, Bengio, Erhan, "Show and Tell: A Neural Image Caption Generator", CVPR 2015,
sec. 3.1 and Fig. 3, sec. 4.3.1: the image's CNN feature is mapped by ``W_I`` into the 512-d word
embedding space and fed to the LSTM once, at t = -1; each caption word is embedded by ``W_e``
(512-d) and fed at t = 0..T-1; the LSTM has 512 memory units and a softmax over the vocabulary at
every step. The encoder here is torchvision's ``googlenet`` (the paper used GoogLeNet with batch
normalisation), without its 1000-way classifier. The vocabulary size is not stated in the paper;
``vocab_size=10000`` is this entry's assumption (pass another). The caption length ``T`` is
symbolic by default: MACs grow linearly in T, params do not.

The graph has two inputs: the image (3x224x224) and the caption's ``T`` token ids (second input
``caption``). The LSTM runs over ``T + 1`` steps and the output is ``(T + 1, vocab_size)`` logits
(the paper's ``p_1..p_N`` plus the prediction after the last word).
"""

from __future__ import annotations

from ..dims import coerce_dim
from ..graph import Builder
from ..layers import LSTM, Concat, Embedding, Linear, Reshape
from . import register_model
from ._parts import graft
from .googlenet import googlenet


def show_and_tell(name, input_shape, vocab_size=10000, embed_size=512, hidden_size=512, caption_length="T",
                  num_classes=None):
    vocab = vocab_size if num_classes is None else num_classes
    b = Builder(name, input_shape)
    trunk = googlenet(name, input_shape)
    feat, _ = graft(b, trunk, b.input, stop_after="dropout", prefix="encoder.")
    img = b.add(Linear(embed_size), feat, name="encoder.embed")  # W_I
    img = b.add(Reshape((1, embed_size)), img, name="encoder.as_step")
    words = b.add_input((coerce_dim(caption_length),), "caption")
    w = b.add(Embedding(vocab, embed_size), words, name="decoder.embed")  # W_e
    seq = b.add(Concat(axis=0), img, w, name="decoder.sequence")
    h = b.add(LSTM(hidden_size), seq, name="decoder.lstm")
    b.add(Linear(vocab), h, name="decoder.logits")
    return b.build()


register_model(
    "show_and_tell", show_and_tell, family="Captioning",
    variant="GoogLeNet encoder + LSTM(512), vocab 10k (assumed), T words",
    source="Vinyals et al. 2015 (Show and Tell) sec. 3.1, 4.3.1; torchvision googlenet encoder",
)
