#!/usr/bin/env python3
"""PyTorch peer of `npm run bench -- train-step`: one training step (forward, softmax cross-entropy,
backward, Adam 1e-3) and inference of the same networks on the CPU, same shapes as lvseg's bench.
fcn and dense are the lab's, as in ../shared/peers/torch_fcn_step.py (same layers, same 256x256x1 input);
unet, unet-bn and unet-small are lvseg's buildUnet (src/models/unet.ts) layer for layer.
Needs Debian's python3-torch (`apt-get install -y python3-torch`), run with /usr/bin/python3.
Usage: torch_step.py [--model fcn|dense|unet|unet-bn|unet-small] [--size 256] [--batch N] [--threads N]
                     [--steps N] [--inference]
Prints one JSON line: {"peer": "pytorch", "model": ..., "batch": ..., "step_ms": ... (median), "cpu_ms": ... (CPU time
of a step, all threads), ...}
"""
import argparse, json, os, re, statistics, time
import torch, torch.nn as nn
from torch_unet import UNet

p = argparse.ArgumentParser()
p.add_argument('--model', default='fcn', choices=['fcn', 'dense', 'unet', 'unet-bn', 'unet-small'])
p.add_argument('--size', type=int, default=256, help='input side (unet models; fcn and dense are 256 only)')
p.add_argument('--batch', type=int, default=1)
p.add_argument('--threads', type=int, default=0, help='0 = all cores')
p.add_argument('--steps', type=int, default=10)
p.add_argument('--inference', action='store_true', help='also time inference (eval mode, no gradients)')
a = p.parse_args()
torch.set_num_threads(a.threads or os.cpu_count())

class FCN(nn.Module):  # Keras 'same' padding equivalents
    def __init__(s):
        super().__init__()
        s.c1 = nn.Conv2d(1, 100, 5, 2, 2); s.c2 = nn.Conv2d(100, 200, 5, 2, 2)
        s.c3 = nn.Conv2d(200, 300, 3, 1, 1); s.c4 = nn.Conv2d(300, 300, 3, 1, 1); s.c5 = nn.Conv2d(300, 2, 3, 1, 1)
        s.up = nn.ConvTranspose2d(2, 2, 31, 16, padding=8, output_padding=1); s.pool = nn.MaxPool2d(2, 2)
    def forward(s, x):
        r = torch.relu
        x = s.pool(r(s.c1(x))); x = s.pool(r(s.c2(x))); x = r(s.c3(x)); x = r(s.c4(x)); x = r(s.c5(x))
        return s.up(x)

class Dense(nn.Module):  # lab Task 1: Flatten -> Dense(64, relu) -> Dense(256*256*2) -> Reshape
    def __init__(s):
        super().__init__(); s.h = nn.Linear(65536, 64); s.o = nn.Linear(64, 131072)
    def forward(s, x):
        return s.o(torch.relu(s.h(x.flatten(1)))).view(-1, 256, 256, 2).permute(0, 3, 1, 2)

size = 256 if a.model in ('fcn', 'dense') else a.size
m = {'fcn': FCN, 'dense': Dense, 'unet': lambda: UNet(4, 16, False), 'unet-bn': lambda: UNet(4, 16, True),
     'unet-small': lambda: UNet(3, 8, False)}[a.model]()
opt = torch.optim.Adam(m.parameters(), 1e-3); lf = nn.CrossEntropyLoss()
x = torch.rand(a.batch, 1, size, size); y = (torch.rand(a.batch, size, size) > 0.95).long()
assert m(x).shape == (a.batch, 2, size, size)

def peak_rss_reset():
    """Resets the kernel's peak resident set size of this process (VmHWM); False where that is not allowed."""
    try:
        with open('/proc/self/clear_refs', 'w') as f: f.write('5')
        return True
    except OSError:
        return False

def peak_rss_mb():
    with open('/proc/self/status') as f:
        return int(re.search(r'VmHWM:\s+(\d+) kB', f.read()).group(1)) / 1024

def step():
    opt.zero_grad(); l = lf(m(x), y); l.backward(); opt.step(); return l.item()

m.train()
for _ in range(3): step()
times, cpu_times, peaks = [], [], []
for _ in range(a.steps):
    reset = peak_rss_reset()
    t, c = time.perf_counter(), time.process_time(); step()
    times.append((time.perf_counter() - t) * 1000); cpu_times.append((time.process_time() - c) * 1000)
    peaks.append(peak_rss_mb() if reset else None)
ms = statistics.median(times)
out = {'peer': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'model': a.model, 'size': size,
       'batch': a.batch, 'step_ms': round(ms, 2), 'per_image_ms': round(ms / a.batch, 2), 'statistic': 'median',
       'cpu_ms': round(statistics.median(cpu_times), 2),
       'aten_capability': (re.search(r'CPU capability usage: (\w+)', torch.__config__.show()) or [None, None])[1]}
if peaks[0] is not None:
    out.update(peak_rss_mb=round(statistics.median(peaks), 1), peak_rss_first_mb=round(peaks[0], 1), peak_rss_last_mb=round(peaks[-1], 1))
if a.inference:
    m.eval()
    with torch.no_grad():
        m(x); t_inf, c_inf = [], []
        for _ in range(max(3, a.steps)):
            t, c = time.perf_counter(), time.process_time(); m(x)
            t_inf.append(time.perf_counter() - t); c_inf.append(time.process_time() - c)
    out['images_per_s'] = round(a.batch / statistics.median(t_inf), 1)
    out['images_per_cpu_s'] = round(a.batch / statistics.median(c_inf), 1)
print(json.dumps(out))
