" ftdetect/sonde.vim: *.sonde files are sonde recipes.
autocmd BufNewFile,BufRead *.sonde setfiletype sonde
