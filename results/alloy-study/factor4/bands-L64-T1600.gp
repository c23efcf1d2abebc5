# Written by macrodyn plot_ensemble_bands. Re-plot: cd into this directory, then gnuplot bands-L64-T1600.gp
set terminal pngcairo noenhanced size 1000,1860 font 'sans,10'
set output 'bands-L64-T1600.png'
set grid
set style fill transparent solid 0.25 noborder
set key top center horizontal outside
set multiplot layout 6,1 title 'nbmota, side 64, T = 1600: mean +- std'
set xlabel 't (physical)'
set ylabel 'NbNb'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($2-$3):($2+$3) with filledcurves lc 1 notitle, \
     '' index 0 using 1:2 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($2-$3):($2+$3) with filledcurves lc 2 notitle, \
     '' index 1 using 1:2 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($2-$3):($2+$3) with filledcurves lc 3 notitle, \
     '' index 2 using 1:2 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($2-$3):($2+$3) with filledcurves lc 4 notitle, \
     '' index 3 using 1:2 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($2-$3):($2+$3) with filledcurves lc 5 notitle, \
     '' index 4 using 1:2 with lines lw 2 lc 5 title 'small'
set xlabel 't (physical)'
set ylabel 'NbMo'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($4-$5):($4+$5) with filledcurves lc 1 notitle, \
     '' index 0 using 1:4 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($4-$5):($4+$5) with filledcurves lc 2 notitle, \
     '' index 1 using 1:4 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($4-$5):($4+$5) with filledcurves lc 3 notitle, \
     '' index 2 using 1:4 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($4-$5):($4+$5) with filledcurves lc 4 notitle, \
     '' index 3 using 1:4 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($4-$5):($4+$5) with filledcurves lc 5 notitle, \
     '' index 4 using 1:4 with lines lw 2 lc 5 title 'small'
set xlabel 't (physical)'
set ylabel 'NbTa'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($6-$7):($6+$7) with filledcurves lc 1 notitle, \
     '' index 0 using 1:6 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($6-$7):($6+$7) with filledcurves lc 2 notitle, \
     '' index 1 using 1:6 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($6-$7):($6+$7) with filledcurves lc 3 notitle, \
     '' index 2 using 1:6 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($6-$7):($6+$7) with filledcurves lc 4 notitle, \
     '' index 3 using 1:6 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($6-$7):($6+$7) with filledcurves lc 5 notitle, \
     '' index 4 using 1:6 with lines lw 2 lc 5 title 'small'
set xlabel 't (physical)'
set ylabel 'MoMo'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($8-$9):($8+$9) with filledcurves lc 1 notitle, \
     '' index 0 using 1:8 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($8-$9):($8+$9) with filledcurves lc 2 notitle, \
     '' index 1 using 1:8 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($8-$9):($8+$9) with filledcurves lc 3 notitle, \
     '' index 2 using 1:8 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($8-$9):($8+$9) with filledcurves lc 4 notitle, \
     '' index 3 using 1:8 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($8-$9):($8+$9) with filledcurves lc 5 notitle, \
     '' index 4 using 1:8 with lines lw 2 lc 5 title 'small'
set xlabel 't (physical)'
set ylabel 'MoTa'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($10-$11):($10+$11) with filledcurves lc 1 notitle, \
     '' index 0 using 1:10 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($10-$11):($10+$11) with filledcurves lc 2 notitle, \
     '' index 1 using 1:10 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($10-$11):($10+$11) with filledcurves lc 3 notitle, \
     '' index 2 using 1:10 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($10-$11):($10+$11) with filledcurves lc 4 notitle, \
     '' index 3 using 1:10 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($10-$11):($10+$11) with filledcurves lc 5 notitle, \
     '' index 4 using 1:10 with lines lw 2 lc 5 title 'small'
set xlabel 't (physical)'
set ylabel 'TaTa'
set autoscale y
plot 'bands-L64-T1600.dat' index 0 using 1:($12-$13):($12+$13) with filledcurves lc 1 notitle, \
     '' index 0 using 1:12 with lines lw 2 lc 1 title 'truth (tiles)', \
     '' index 1 using 1:($12-$13):($12+$13) with filledcurves lc 2 notitle, \
     '' index 1 using 1:12 with lines lw 2 lc 2 title 'kscaled-mlp', \
     '' index 2 using 1:($12-$13):($12+$13) with filledcurves lc 3 notitle, \
     '' index 2 using 1:12 with lines lw 2 lc 3 title 'kscaled-onsager', \
     '' index 3 using 1:($12-$13):($12+$13) with filledcurves lc 4 notitle, \
     '' index 3 using 1:12 with lines lw 2 lc 4 title 'naive', \
     '' index 4 using 1:($12-$13):($12+$13) with filledcurves lc 5 notitle, \
     '' index 4 using 1:12 with lines lw 2 lc 5 title 'small'
unset multiplot
