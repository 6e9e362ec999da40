"""lvseg's buildUnet (src/models/unet.ts) in PyTorch, layer for layer: the peer of the train-step and epoch benches."""
import torch, torch.nn as nn


class UNet(nn.Module):
    """buildUnet: per level two 3x3 convs (+ batch norm, then no conv bias) with relu, 2x2 max pool down,
    2x2 stride-2 transposed conv up, skip by concatenation [skip, up], a 1x1 conv to 2 logits. Batch norm
    with Keras' defaults: epsilon 1e-3, moving averages with momentum 0.99 (PyTorch's 0.01); `keras_momentum`
    is the Keras momentum (the sunnybrook-unet preset's 0.9)."""
    def __init__(s, depth, base, bn, keras_momentum=0.99):
        super().__init__()
        def block(cin, f):
            layers = []
            for c in (cin, f):
                layers.append(nn.Conv2d(c, f, 3, 1, 1, bias=not bn))
                if bn: layers.append(nn.BatchNorm2d(f, eps=1e-3, momentum=1 - keras_momentum))
                layers.append(nn.ReLU())
            return nn.Sequential(*layers)
        s.down = nn.ModuleList(); cin = 1
        for level in range(depth):
            s.down.append(block(cin, base * 2 ** level)); cin = base * 2 ** level
        s.bottom = block(cin, base * 2 ** depth); cin = base * 2 ** depth
        s.up = nn.ModuleList(); s.dec = nn.ModuleList()
        for level in reversed(range(depth)):
            f = base * 2 ** level
            s.up.append(nn.ConvTranspose2d(cin, f, 2, 2)); s.dec.append(block(2 * f, f)); cin = f
        s.logits = nn.Conv2d(cin, 2, 1); s.pool = nn.MaxPool2d(2, 2)
    def forward(s, x):
        skips = []
        for block in s.down:
            x = block(x); skips.append(x); x = s.pool(x)
        x = s.bottom(x)
        for up, dec in zip(s.up, s.dec):
            x = dec(torch.cat([skips.pop(), up(x)], 1))
        return s.logits(x)
