#!/usr/bin/python3
# Issue 16, item 2: a learned model's drift and diffusion of m against the truth's, binned in m.
# The model's: one Euler-Maruyama step of `ensemble` paths from each rollout start of the study
# cell (starts.csv: the dataset's states, closure codes included), drift = mean change / dt,
# diffusion = variance of the change / dt (physical time), via `macrodyn predict`. The truth's:
# calibrate's binned.csv (the whole lattice evolved for the patch's physical time from the same
# kind of upsampled snapshots), horizon 1, periodic rows of m.
#   drift_check.py MACRODYN MODEL_DIR STARTS_CSV BINNED_CSV [ENSEMBLE]
import csv, subprocess, sys, tempfile, os
import numpy as np
bin_, model, starts, binned = sys.argv[1:5]
ens = int(sys.argv[5]) if len(sys.argv) > 5 else 4000
z0 = [l.strip() for l in open(starts) if l.strip()]
with tempfile.TemporaryDirectory() as tmp:
    out = os.path.join(tmp, "p.csv")
    subprocess.run([bin_, "predict", "--model", model, "--z0", ";".join(z0), "--steps", "1", "--ensemble", str(ens),
                    "--output", out, "--progress", "0"], check=True, capture_output=True)
    rows = [r for r in csv.DictReader(l for l in open(out) if not l.startswith('#'))]
m0 = np.array([float(s.split(',')[0]) for s in z0])
drift = np.zeros(len(z0)); diff = np.zeros(len(z0))
for r in rows:
    s = int(r['state'])
    if float(r['t']) == 0: continue
    dt = float(r['t_physical'])
    drift[s] = (float(r['m_mean']) - m0[s]) / dt
    diff[s] = float(r['m_std']) ** 2 / dt
truth = [r for r in csv.DictReader(l for l in open(binned) if not l.startswith('#'))
         if r['horizon'] == '1' and r['boundary'] == 'periodic' and r['observable'] == 'm']
print(f"{'m bin':>16} {'n':>3} {'truth drift':>22} {'patch drift':>22} {'model drift':>12} {'truth diff':>11} {'model diff':>11}")
rd, rf = [], []
for t in truth:
    lo, hi = float(t['bin_lo']), float(t['bin_hi'])
    sel = (m0 >= lo) & (m0 < hi)
    if sel.sum() == 0 or int(t['snapshots']) < 20: continue
    md, mf = drift[sel].mean(), diff[sel].mean()
    td, tse, tf = float(t['drift_full']), float(t['drift_full_se']), float(t['diffusion_full'])
    pd, pse = float(t['drift_patch']), float(t['drift_patch_se'])
    print(f"[{lo:+.1f}, {hi:+.1f}) {sel.sum():>3} {td:+.5f} +- {tse:.5f} {pd:+.5f} +- {pse:.5f} {md:+12.5f} {tf:11.3e} {mf:11.3e}")
    rd.append((td, md, sel.sum(), pd)); rf.append((tf, mf, sel.sum()))
rd, rf = np.array(rd), np.array(rf)
w = rd[:, 2]
inner = np.array([abs(float(t['mean'])) < 0.6 for t in truth if int(t['snapshots']) >= 20 and
                  ((m0 >= float(t['bin_lo'])) & (m0 < float(t['bin_hi']))).sum() > 0])
print(f"model/truth: drift slope through 0 (weighted by starts) {np.sum(w*rd[:,0]*rd[:,1])/np.sum(w*rd[:,0]**2):.2f} "
      f"(model/patch {np.sum(w*rd[:,3]*rd[:,1])/np.sum(w*rd[:,3]**2):.2f}; |m| < 0.6 only: model/truth "
      f"{np.sum((w*rd[:,0]*rd[:,1])[inner])/np.sum((w*rd[:,0]**2)[inner]):.2f}), "
      f"diffusion ratio {np.sum(w*rf[:,1])/np.sum(w*rf[:,0]):.2f}")
