# bench/jpeg_torch.py: the cases of bench/jpeg.lua the way PyTorch users do it, same RESULT
# lines (bench/compare.sh joins them): Pillow opens the 3,000 x 2,000 JPEG (with draft, its
# scaled IDCT: draft("RGB", (224, 224)) picks 1/8 = 375 x 250 as max_side 336 does), then
# torchvision's Resize(224) (antialiased) + CenterCrop(224) + ToTensor. Run with /usr/bin/python3.
import os, statistics, time
import torch
from PIL import Image
from torchvision import transforms

threads = int(os.environ.get("CNN_THREADS", "0")) or torch.get_num_threads()
torch.set_num_threads(threads)
path = "build/bench/photo_3000x2000.jpg"
if not os.path.exists(path):      # bench/jpeg.lua writes it; alone, make a similar one
    import numpy as np
    os.makedirs("build/bench", exist_ok=True)
    rng = np.random.default_rng(1)
    small = Image.fromarray((rng.random((12, 18, 3)) * 255).astype("uint8")).resize((3000, 2000), Image.BILINEAR)
    a = np.asarray(small) * 0.85 + rng.random((2000, 3000, 3)) * 255 * 0.15
    Image.fromarray(a.astype("uint8")).save(path, quality=90)


def bench(fn, reps=7, warm=2, inner=1):
    for _ in range(warm): fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner): fn()
        t.append((time.perf_counter() - t0) / inner)
    return statistics.median(t)


def result(group, case, s, extra=""):
    print("RESULT\t%s\t%s\t%d\t%.6g\t-\t%s" % (group, case, threads, s, extra), flush=True)


tf = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor()])


def prep(draft):
    img = Image.open(path)
    if draft:
        img.draft("RGB", (224, 224))
    return tf(img.convert("RGB"))


assert prep(True).shape == (3, 224, 224) and prep(False).shape == (3, 224, 224)
s = bench(lambda: prep(False), 5, 1)
result("jpeg", "3000x2000 jpeg -> 224x224 float, full decode", s, "%.1f images/s" % (1 / s))
s = bench(lambda: prep(True), 7, 2, 5)
result("jpeg", "3000x2000 jpeg -> 224x224 float, max_side 336 / draft", s, "%.1f images/s" % (1 / s))
s = bench(lambda: Image.open(path).convert("RGB").load(), 5, 1)
result("jpeg", "3000x2000 jpeg decode only, full", s, "%.1f images/s" % (1 / s))
