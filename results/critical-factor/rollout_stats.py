#!/usr/bin/python3
# Stationary law of the rollouts: <|m|>, chi' = (L^2/T)(<m^2> - <|m|>^2), U over the second
# half of every trajectory, |m| clipped to [0, 1] (the notes' evaluation), with a standard
# error from the spread over trajectories (independent by construction).
import csv, sys, math
import numpy as np
path, L, T = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
rows = np.loadtxt((l for l in open(path) if not l.startswith('#') and not l.startswith('state')), delimiter=',')
# columns: state, member, t, t_physical, m, rho
traj = {}
for r in rows:
    traj.setdefault((int(r[0]), int(r[1])), []).append(r[4])
per = []
for k, ms in traj.items():
    ms = np.array(ms)
    if not np.all(np.isfinite(ms)):
        continue
    h = np.clip(np.abs(ms[len(ms) // 2:]), 0, 1)
    per.append((h.mean(), (h * h).mean(), (h ** 4).mean()))
per = np.array(per)
R = len(per)
def f(v):
    a, b, c = v
    return np.array([a, L * L / T * (b - a * a), 1 - c / (3 * b * b)])
full = f(per.mean(axis=0))
jk = np.array([f(np.delete(per, i, axis=0).mean(axis=0)) for i in range(R)])
se = np.sqrt((R - 1) / R * ((jk - jk.mean(axis=0)) ** 2).sum(axis=0))
print(f"{path}: {R} trajectories: <|m|> = {full[0]:.4f} +- {se[0]:.4f}, chi' = {full[1]:.2f} +- {se[1]:.2f}, U = {full[2]:.4f} +- {se[2]:.4f}")
