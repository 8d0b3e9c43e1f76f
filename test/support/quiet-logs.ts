// fabric-contract-api logs every decorator at 'info' when a contract class loads.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'warn';
