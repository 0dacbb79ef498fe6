# make_fixtures.py: writes the tiny fixture files of tests/data (the seeds of
# the fuzzers and the inputs of tests/unit/test_io.c). Run with Debian's
# python3 (numpy, PIL): /usr/bin/python3 tests/data/make_fixtures.py
import gzip, io, json, os, struct, zipfile
import numpy as np
from PIL import Image

here = os.path.dirname(os.path.abspath(__file__))
def out(name, data):
    with open(os.path.join(here, name), "wb") as f: f.write(data)

# IDX: u8 2x3x4 (values 0..23), i32 [3] big-endian, and the u8 one gzip'd
u8 = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
idx_u8 = bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, 3, 4) + u8.tobytes()
out("u8.idx", idx_u8)
out("u8.idx.gz", gzip.compress(idx_u8, mtime=0))
out("i32.idx", bytes([0, 0, 0x0C, 1]) + struct.pack(">I", 3) + np.array([-1, 2, 70000], ">i4").tobytes())

# npy: f32 C order, f64 Fortran order, bool
def npy(a):
    b = io.BytesIO(); np.save(b, a); return b.getvalue()
out("f32.npy", npy(np.arange(6, dtype=np.float32).reshape(2, 3) / 4))
out("f64f.npy", npy(np.asfortranarray(np.arange(6, dtype=np.float64).reshape(2, 3))))
out("bool.npy", npy(np.array([True, False, True])))

# npz: stored and deflated
b = io.BytesIO(); np.savez(b, a=np.arange(3, dtype=np.int64), b=np.ones((2, 2), np.float32)); out("s.npz", b.getvalue())
b = io.BytesIO(); np.savez_compressed(b, x=np.arange(4, dtype=np.int32)); out("d.npz", b.getvalue())

# safetensors: written by hand as the format says
def st(tensors, meta=None):
    h, data = {}, b""
    if meta: h["__metadata__"] = meta
    for k, (dt, a) in tensors.items():
        raw = a.tobytes(); h[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [len(data), len(data) + len(raw)]}; data += raw
    hj = json.dumps(h).encode(); hj += b" " * (-len(hj) % 8)
    return struct.pack("<Q", len(hj)) + hj + data
out("a.safetensors", st({"w": ("F32", np.arange(6, dtype=np.float32).reshape(3, 2)),
                         "h": ("F16", np.array([1.5, -2], np.float16)),
                         "i": ("I64", np.array([7], np.int64))}, {"format": "pt"}))

out("a.csv", b'x,color,y\n1.5,red,2\n,blue,NA\n3,"re""d, ok",4\n')

# PNG: gray 8-bit 2x3, RGBA 16-bit 2x2, palette 2x2
def png(img, **kw):
    b = io.BytesIO(); img.save(b, format="PNG", **kw); return b.getvalue()
out("g8.png", png(Image.fromarray(np.array([[0, 128, 255], [1, 2, 3]], np.uint8), "L")))
p = Image.new("P", (2, 2)); p.putpalette([255, 0, 0, 0, 255, 0]); p.putdata([0, 1, 1, 0]); out("pal.png", png(p))
rgba16 = np.array([[[65535, 0, 0, 65535], [0, 65535, 0, 32768]], [[0, 0, 65535, 0], [1, 2, 3, 4]]], np.uint16)
# PIL cannot write 16-bit RGBA: write it with a tiny encoder
import zlib
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
raw = b"".join(b"\0" + r.astype(">u2").tobytes() for r in rgba16)
out("rgba16.png", b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 16, 6, 0, 0, 0)) +
    chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
