#!/usr/bin/env python3
"""PyTorch peer of `npm run bench -- epoch`: epochs of the sunnybrook-unet preset (src/models/presets.ts) as a
PyTorch user writes them. Same network (U-Net depth 4, width 16, batch norm with Keras momentum 0.9), same
per-sample augmentation on the full slice (flips; rotation ±30°, log-uniform scale
0.8–1.25, shift ±6%; gamma 0.7–1.5 p 0.5; contrast p 0.5; noise sd ≤ 0.05 p 0.3; blur sigma 0.25–0.8 p 0.2),
then the centred 128×128 crop and the 1–99 percentile z-score; batch 4, shuffled; CE + per-image soft Dice;
AdamW 0.002 with weight decay 1e-4, one warm-up epoch then cosine; per step the loss and the argmax Dice;
per epoch validation (loss, Dice), a checkpoint (model + optimizer) and the best model when it improved.
A DataLoader with num_workers 0, PyTorch's default.
The data come decoded from the bench (DATA/meta.json, train_images.f32, train_labels.u8, val_images.f32,
val_labels.u8: the slices lvseg read, scaled 1/255) so both sides time the epoch, not PNG decoding, which
both do once before training. Needs Debian's python3-torch, run with /usr/bin/python3.
Usage: torch_epoch.py DATA [--epochs N] [--threads N]
Prints one JSON line: {"peer": "pytorch", "epochs_ms": [...], "cpus_ms": [...] (CPU time, all threads), "parts_ms": [{"data", "step", "metrics", "validation",
"checkpoint"}...], ...}
"""
import argparse, json, math, os, tempfile, time
import numpy as np
import torch, torch.nn as nn, torch.nn.functional as F
from torch_unet import UNet

p = argparse.ArgumentParser()
p.add_argument('data')
p.add_argument('--epochs', type=int, default=3)
p.add_argument('--threads', type=int, default=0, help='0 = all cores')
a = p.parse_args()
torch.set_num_threads(a.threads or os.cpu_count())
torch.manual_seed(1)

meta = json.load(open(os.path.join(a.data, 'meta.json')))
H, W, ROI, BATCH, LR, EPOCHS_TOTAL = meta['height'], meta['width'], 128, 4, 0.002, 40
def load(name, dtype, n):
    return torch.from_numpy(np.fromfile(os.path.join(a.data, name), dtype=dtype).reshape(n, H, W).copy())
train_x, train_y = load('train_images.f32', np.float32, meta['train']), load('train_labels.u8', np.uint8, meta['train'])
val_x, val_y = load('val_images.f32', np.float32, meta['val']), load('val_labels.u8', np.uint8, meta['val'])

def centre_crop(t):
    top, left = (t.shape[-2] - ROI) // 2, (t.shape[-1] - ROI) // 2
    return t[..., top:top + ROI, left:left + ROI]

def normalize(img):
    lo, hi = torch.quantile(img.flatten(), torch.tensor([0.01, 0.99]))
    img = img.clamp(lo, hi)
    sd = img.std(unbiased=False)
    return (img - img.mean()) / (sd if sd > 1e-8 else 1)

def blur(img, sigma):
    r = max(1, math.ceil(3 * sigma))
    k = torch.exp(-torch.arange(-r, r + 1, dtype=torch.float32) ** 2 / (2 * sigma * sigma)); k = k / k.sum()
    x = F.pad(img[None, None], (r, r, 0, 0), mode='replicate'); x = F.conv2d(x, k.view(1, 1, 1, -1))
    x = F.pad(x, (0, 0, r, r), mode='replicate'); return F.conv2d(x, k.view(1, 1, -1, 1))[0, 0]

def augment(img, lab):
    u = lambda lo, hi: lo + (hi - lo) * torch.rand(()).item()
    if torch.rand(()) < 0.5: img, lab = img.flip(-1), lab.flip(-1)
    if torch.rand(()) < 0.5: img, lab = img.flip(-2), lab.flip(-2)
    t, s = math.radians(u(-30, 30)), math.exp(u(math.log(0.8), math.log(1.25)))
    c, sn = math.cos(t) / s, math.sin(t) / s
    theta = torch.tensor([[[c, -sn, u(-0.12, 0.12)], [sn, c, u(-0.12, 0.12)]]], dtype=torch.float32)
    grid = F.affine_grid(theta, (1, 1, H, W), align_corners=False)
    img = F.grid_sample(img[None, None], grid, 'bilinear', 'zeros', align_corners=False)[0, 0]
    lab = F.grid_sample(lab[None, None].float(), grid, 'nearest', 'zeros', align_corners=False)[0, 0].to(torch.uint8)
    if torch.rand(()) < 0.5:
        lo, hi = img.min(), img.max()
        if hi > lo: img = lo + (hi - lo) * ((img - lo) / (hi - lo)) ** math.exp(u(math.log(0.7), math.log(1.5)))
    if torch.rand(()) < 0.5:
        m, sd = img.mean(), img.std(unbiased=False)
        img = m + u(0.75, 1.25) * (img - m) + u(-0.1, 0.1) * sd
    if torch.rand(()) < 0.3: img = img + u(0, 0.05) * img.std(unbiased=False) * torch.randn_like(img)
    if torch.rand(()) < 0.2: img = blur(img, u(0.25, 0.8))
    return normalize(centre_crop(img))[None], centre_crop(lab).long()

class Slices(torch.utils.data.Dataset):
    def __len__(s): return len(train_x)
    def __getitem__(s, i): return augment(train_x[i], train_y[i])

def loss_fn(logits, y):
    fg = torch.softmax(logits, 1)[:, 1]; yf = y.float()
    dice = 1 - (2 * (fg * yf).sum((1, 2)) + 1) / (fg.sum((1, 2)) + yf.sum((1, 2)) + 1)
    return F.cross_entropy(logits, y) + dice.mean()

def pooled_dice(pred, y):
    return ((2 * (pred * y).sum() + 1) / (pred.sum() + y.sum() + 1)).item()

model = UNet(4, 16, True, keras_momentum=0.9)
opt = torch.optim.AdamW(model.parameters(), LR, weight_decay=1e-4)
loader = torch.utils.data.DataLoader(Slices(), batch_size=BATCH, shuffle=True, num_workers=0)
steps = len(loader)
def lr_at(step):  # lvseg's learningRateSchedule: linear warm-up over one epoch, cosine to 1% of the rate
    if step < steps: return (step + 1) / steps
    t = min(1, (step - steps) / max(1, EPOCHS_TOTAL * steps - steps))
    return 0.01 + 0.99 * 0.5 * (1 + math.cos(math.pi * t))
sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)
val_in = torch.stack([normalize(centre_crop(v)) for v in val_x])[:, None]; val_lab = centre_crop(val_y).long()
out = tempfile.mkdtemp(prefix='lvseg-torch-epoch-')

epochs_ms, cpus_ms, parts, best = [], [], [], -1.0
for epoch in range(a.epochs):
    part = dict(data=0.0, step=0.0, metrics=0.0, validation=0.0, checkpoint=0.0)
    start = t = time.perf_counter(); cpu_start = time.process_time()
    model.train()
    for x, y in loader:
        now = time.perf_counter(); part['data'] += now - t; t = now
        opt.zero_grad(); logits = model(x); loss = loss_fn(logits, y); loss.backward(); opt.step(); sched.step()
        now = time.perf_counter(); part['step'] += now - t; t = now
        loss.item(); pooled_dice(logits.argmax(1), y)
        now = time.perf_counter(); part['metrics'] += now - t; t = now
    model.eval(); dices = []
    with torch.no_grad():
        for i in range(0, len(val_in), BATCH):
            logits = model(val_in[i:i + BATCH]); loss_fn(logits, val_lab[i:i + BATCH]).item()
            dices.append(pooled_dice(logits.argmax(1), val_lab[i:i + BATCH]))
    now = time.perf_counter(); part['validation'] += now - t; t = now
    torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'epoch': epoch}, os.path.join(out, 'checkpoint.pt'))
    if sum(dices) / len(dices) > best:
        best = sum(dices) / len(dices); torch.save(model.state_dict(), os.path.join(out, 'best.pt'))
    now = time.perf_counter(); part['checkpoint'] += now - t
    epochs_ms.append(round((now - start) * 1000, 1)); cpus_ms.append(round((time.process_time() - cpu_start) * 1000, 1))
    parts.append({k: round(v * 1000, 1) for k, v in part.items()})
for f in os.listdir(out): os.remove(os.path.join(out, f))
os.rmdir(out)
print(json.dumps({'peer': 'pytorch', 'version': torch.__version__, 'threads': torch.get_num_threads(), 'batch': BATCH,
                  'steps_per_epoch': steps, 'epochs_ms': epochs_ms, 'cpus_ms': cpus_ms, 'parts_ms': parts, 'val_dice': round(best, 4)}))
