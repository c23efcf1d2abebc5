# Written by macrodyn plot_xy. Re-plot: cd into this directory, then gnuplot equilibrium-NbMo.gp
set terminal pngcairo noenhanced size 900,650 font 'sans,10'
set output 'equilibrium-NbMo.png'
set grid
set title 'nbmota: late NbMo against T (bars: std)'
set xlabel 'T'
set ylabel 'NbMo'
set key top right
plot 'equilibrium-NbMo.dat' index 0 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 1 title 'model side 32 kscaled-mlp', \
     '' index 1 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 2 title 'model side 32 kscaled-onsager', \
     '' index 2 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 3 title 'model side 64 kscaled-mlp', \
     '' index 3 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 4 title 'model side 64 kscaled-onsager', \
     '' index 4 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 5 title 'small runs (side 16)', \
     '' index 5 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 6 title 'truth side 32 (real bonds)', \
     '' index 6 using 1:2:3:4 with yerrorlines lw 2 pt 7 lc 7 title 'truth side 64 (real bonds)'
