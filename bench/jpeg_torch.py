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


def bench(fn, reps):
    """median and best of reps runs after one warm-up (the shared machine is noisy)"""
    fn()
    t = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        t.append(time.perf_counter() - t0)
    return statistics.median(t), min(t)


def result(group, case, s, extra=""):
    print("RESULT\t%s\t%s\t%d\t%.6g\t-\t%s" % (group, case, threads, s, extra), flush=True)


tf = transforms.Compose([transforms.Resize(224), transforms.CenterCrop(224), transforms.ToTensor()])


def prep(draft):
    img = Image.open(path)
    if draft:
        img.draft("RGB", (224, 224))
    return tf(img.convert("RGB"))


assert prep(True).shape == (3, 224, 224) and prep(False).shape == (3, 224, 224)
for case, fn, reps in (("3000x2000 jpeg -> 224x224 float, full decode", lambda: prep(False), 9),
                       ("3000x2000 jpeg -> 224x224 float, max_side 336 / draft", lambda: prep(True), 15),
                       ("3000x2000 jpeg decode only, full", lambda: Image.open(path).convert("RGB").load(), 9)):
    med, best = bench(fn, reps)
    result("jpeg", case, med, "%.1f images/s, best run %.1f ms" % (1 / med, best * 1e3))
