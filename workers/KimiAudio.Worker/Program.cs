using KimiAudio.Model;
using KimiAudio.Worker;
using Microsoft.Extensions.Hosting;

// before anything loads libtorch: OpenMP reads its spin setting once, when it loads
Console.WriteLine($"native threads: {NativeThreads.Prepare()}");
await WorkerHost.Build(args).RunAsync();
