using KimiAudio.Worker;
using Microsoft.Extensions.Hosting;

await WorkerHost.Build(args).RunAsync();
