using KimiAudio.Orchestrator;

OrchestratorApp.Build(args).Run();
